using Backpressure.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Backpressure.AspNetCore;

/// <summary>Registers Backpressure's policies in a service collection.</summary>
public static class BackpressureServiceCollectionExtensions
{
    /// <summary>
    /// Registers the policies <paramref name="configure"/> adds, with what they need (the
    /// <see cref="BackpressureMetrics"/>, <see cref="TimeProvider.System"/> unless the host has a clock, the
    /// in-process <see cref="RateLimitBackend"/> unless one was chosen), and a start-up check that every
    /// policy an endpoint requires is registered. May be called more than once; names stay unique across calls.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Adds the policies, and chooses the store (for example <c>UseRedis</c>).</param>
    /// <exception cref="ArgumentException">Two policies have the same name.</exception>
    public static IServiceCollection AddBackpressure(this IServiceCollection services, Action<BackpressureBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        PolicyNames? names = (PolicyNames?)services.FirstOrDefault(d => d.ServiceType == typeof(PolicyNames))?.ImplementationInstance;
        if (names is null)
        {
            names = new PolicyNames();
            services.AddSingleton(names);
            services.AddHostedService<RequiredPoliciesCheck>();
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RateLimitBackend>(sp => new InProcessRateLimitBackend(sp.GetRequiredService<TimeProvider>()));
        services.AddBackpressureMetrics();
        configure(new BackpressureBuilder(services, names));
        return services;
    }

    /// <summary>
    /// Registers <see cref="BackpressureMetrics"/> and the <see cref="AlertSignals"/> read from it (and
    /// <see cref="System.Diagnostics.Metrics.IMeterFactory"/> if the host has none). <see cref="AddBackpressure"/> calls it; call it yourself only to get the
    /// meter without any policy.
    /// </summary>
    public static IServiceCollection AddBackpressureMetrics(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddMetrics();
        services.TryAddSingleton<BackpressureMetrics>();
        services.TryAddSingleton<AlertSignals>();
        return services;
    }
}
