using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.AspNetCore;

/// <summary>Puts endpoints behind a named <see cref="BackpressurePolicy"/>.</summary>
public static class BackpressureEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Puts the endpoints behind the policy registered as <paramref name="policyName"/> through
    /// <see cref="BackpressureServiceCollectionExtensions.AddBackpressure"/>. A request that gets no permit is
    /// answered <c>429 Too Many Requests</c> at once (<c>503</c> when the limit cannot be checked), with
    /// <c>Retry-After</c> when the limiter says how long to wait, in the policy's <see cref="RefusalAnswer"/>;
    /// a policy with a <see cref="RateLimitQuota"/> also sends <c>RateLimit-Policy</c>/<c>RateLimit</c> headers
    /// on every answer. The permit of an admitted request is returned when the handler ends, whether it
    /// returns, throws, or the client goes away.
    /// </summary>
    /// <exception cref="InvalidOperationException">No policy is registered under that name (when the endpoints are built: at start-up).</exception>
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
            BackpressurePolicy policy = services.GetKeyedService<BackpressurePolicy>(policyName)
                ?? throw new InvalidOperationException(
                    $"The endpoint '{endpoint.DisplayName}' requires the backpressure policy '{policyName}', which is not registered. " +
                    $"Registered: {string.Join(", ", (services.GetService<PolicyNames>()?.All ?? []).Order(StringComparer.Ordinal))}. " +
                    $"Add it with services.AddBackpressure(bp => bp.Add...(\"{policyName}\", ...)).");
            endpoint.RequestDelegate = RateLimitedRequestDelegate.Wrap(next, policy, services.GetService<BackpressureMetrics>());
        });
        return builder;
    }
}
