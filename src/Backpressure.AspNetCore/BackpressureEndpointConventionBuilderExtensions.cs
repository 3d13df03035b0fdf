using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.AspNetCore;

/// <summary>Puts endpoints behind a named limiter.</summary>
public static class BackpressureEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Puts the endpoints behind the per-client <see cref="RateLimitPolicy"/> (see
    /// <see cref="RateLimitPolicyRegistration"/>) or the <see cref="RateLimiter"/> registered under
    /// <paramref name="policyName"/> (for example by
    /// <see cref="BackpressureServiceCollectionExtensions.AddPressureGauge(Microsoft.Extensions.DependencyInjection.IServiceCollection, string, Action{PressureGaugeOptions})"/>).
    /// A request that gets no permit is answered <c>429 Too Many Requests</c> at once, with
    /// <c>Retry-After</c> when the limiter says how long to wait (and, for a rate-limit policy,
    /// <c>RateLimit-Policy</c>/<c>RateLimit</c> headers on every answer and a problem-details body); the permit of an admitted request
    /// is returned when the handler ends, whether it returns, throws, or the client goes away.
    /// </summary>
    /// <exception cref="InvalidOperationException">No limiter is registered under that name (when the endpoints are built, at the first request).</exception>
    public static TBuilder RequireBackpressure<TBuilder>(this TBuilder builder, string policyName)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(policyName);
        // Finally: minimal APIs set the endpoint's RequestDelegate after ordinary conventions run.
        builder.Finally(endpoint =>
        {
            RequestDelegate next = endpoint.RequestDelegate
                ?? throw new InvalidOperationException($"The endpoint '{endpoint.DisplayName}' has no request delegate to put behind '{policyName}'.");
            IServiceProvider services = endpoint.ApplicationServices;
            BackpressureMetrics? metrics = services.GetService<BackpressureMetrics>();
            if (services.GetKeyedService<RateLimitPolicy>(policyName) is { } policy)
            {
                endpoint.RequestDelegate = RateLimitedRequestDelegate.Wrap(next, policy, metrics);
                return;
            }

            RateLimiter limiter = services.GetKeyedService<RateLimiter>(policyName)
                ?? throw new InvalidOperationException(
                    $"No limiter or rate-limit policy is registered under the name '{policyName}'. Call services.AddPressureGauge(\"{policyName}\", ...) or one of the Add...Policy methods first.");
            endpoint.RequestDelegate = RateLimitedRequestDelegate.Wrap(next, limiter, policyName, metrics);
        });
        return builder;
    }
}
