using System.Threading.RateLimiting;
using Backpressure.Adaptive;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Backpressure.AspNetCore;

/// <summary>Registers Backpressure's limiters in a service collection.</summary>
public static class BackpressureServiceCollectionExtensions
{
    private static readonly OptionsValidator<PressureGaugeOptions> s_gaugeValidator = new("Pressure gauge", null, o => o.Validate());
    private static readonly OptionsValidator<AdaptiveConcurrencyOptions> s_adaptiveValidator = new("Adaptive concurrency", null, o => o.Validate());

    /// <summary>
    /// Registers a named <see cref="PressureGauge"/> (as a keyed singleton of both
    /// <see cref="PressureGauge"/> and <see cref="RateLimiter"/>) for
    /// <see cref="BackpressureEndpointConventionBuilderExtensions.RequireBackpressure{TBuilder}(TBuilder, string)"/>.
    /// Its options are validated when the host starts; a bad value stops start-up naming the option.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The policy name endpoints refer to.</param>
    /// <param name="configure">Sets the gauge's options.</param>
    public static IServiceCollection AddPressureGauge(
        this IServiceCollection services, string name, Action<PressureGaugeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddPressureGauge(name, builder => builder.Configure(configure));
    }

    /// <summary>
    /// Registers a named <see cref="PressureGauge"/> whose options are bound from
    /// <paramref name="configuration"/> (for example the section <c>Backpressure:Gauges:NAME</c>).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The policy name endpoints refer to.</param>
    /// <param name="configuration">The section holding <see cref="PressureGaugeOptions"/>.</param>
    public static IServiceCollection AddPressureGauge(
        this IServiceCollection services, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddPressureGauge(name, builder => builder.Bind(configuration));
    }

    /// <summary>
    /// Registers a named <see cref="AdaptiveConcurrencyLimiter"/> running a <see cref="QueueingDelayLimit"/>
    /// (as a keyed singleton of both <see cref="AdaptiveConcurrencyLimiter"/> and <see cref="RateLimiter"/>)
    /// for <see cref="BackpressureEndpointConventionBuilderExtensions.RequireBackpressure{TBuilder}(TBuilder, string)"/>:
    /// a concurrency limit that finds the work's capacity by itself. Its options are validated when the
    /// host starts; a bad value stops start-up naming the option.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The policy name endpoints refer to.</param>
    /// <param name="configure">Sets the options.</param>
    public static IServiceCollection AddAdaptiveConcurrency(
        this IServiceCollection services, string name, Action<AdaptiveConcurrencyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddAdaptiveConcurrency(name, builder => builder.Configure(configure));
    }

    /// <summary>
    /// Registers a named adaptive concurrency limit whose options are bound from
    /// <paramref name="configuration"/> (for example the section <c>Backpressure:Adaptive:NAME</c>).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The policy name endpoints refer to.</param>
    /// <param name="configuration">The section holding <see cref="AdaptiveConcurrencyOptions"/>.</param>
    public static IServiceCollection AddAdaptiveConcurrency(
        this IServiceCollection services, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddAdaptiveConcurrency(name, builder => builder.Bind(configuration));
    }

    /// <summary>
    /// Registers <see cref="BackpressureMetrics"/> (and <see cref="System.Diagnostics.Metrics.IMeterFactory"/>
    /// if the host has none). The gauge and policy registrations call it; call it yourself only to get the
    /// meter without them.
    /// </summary>
    public static IServiceCollection AddBackpressureMetrics(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddMetrics();
        services.TryAddSingleton<BackpressureMetrics>();
        return services;
    }

    private static IServiceCollection AddAdaptiveConcurrency(
        this IServiceCollection services, string name, Action<OptionsBuilder<AdaptiveConcurrencyOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        services.TryAddSingleton(TimeProvider.System);
        services.AddBackpressureMetrics();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdaptiveConcurrencyOptions>>(s_adaptiveValidator));
        configure(services.AddOptions<AdaptiveConcurrencyOptions>(name).ValidateOnStart());
        // The thread-pool probe is the container's, so its timer stops with the host.
        services.AddKeyedSingleton(name, static (sp, _) => new ThreadPoolQueueDelay(sp.GetRequiredService<TimeProvider>()));
        services.AddKeyedSingleton(name, static (sp, key) =>
        {
            AdaptiveConcurrencyOptions options = sp.GetRequiredService<IOptionsMonitor<AdaptiveConcurrencyOptions>>().Get((string)key!);
            TimeProvider time = sp.GetRequiredService<TimeProvider>();
            ThreadPoolQueueDelay? delay = options.ThreadPoolDelayLimit is null ? null : sp.GetRequiredKeyedService<ThreadPoolQueueDelay>(key);
            var limiter = new AdaptiveConcurrencyLimiter(
                new QueueingDelayLimit(options.AlgorithmWithResourceSignal(time, delay)), options.Limiter, time);
            sp.GetRequiredService<BackpressureMetrics>().Observe((string)key!, limiter);
            return limiter;
        });
        services.AddKeyedSingleton<RateLimiter>(name, static (sp, key) => sp.GetRequiredKeyedService<AdaptiveConcurrencyLimiter>(key));
        return services;
    }

    private static IServiceCollection AddPressureGauge(
        this IServiceCollection services, string name, Action<OptionsBuilder<PressureGaugeOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        services.TryAddSingleton(TimeProvider.System);
        services.AddBackpressureMetrics();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PressureGaugeOptions>>(s_gaugeValidator));
        configure(services.AddOptions<PressureGaugeOptions>(name).ValidateOnStart());
        services.AddKeyedSingleton(name, static (sp, key) =>
        {
            var gauge = new PressureGauge(sp.GetRequiredService<IOptionsMonitor<PressureGaugeOptions>>().Get((string)key!), sp.GetRequiredService<TimeProvider>());
            sp.GetRequiredService<BackpressureMetrics>().Observe((string)key!, gauge);
            return gauge;
        });
        services.AddKeyedSingleton<RateLimiter>(name, static (sp, key) => sp.GetRequiredKeyedService<PressureGauge>(key));
        return services;
    }
}
