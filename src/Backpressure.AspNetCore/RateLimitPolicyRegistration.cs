using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Backpressure.AspNetCore;

/// <summary>
/// Registers per-client rate-limit policies for
/// <see cref="BackpressureEndpointConventionBuilderExtensions.RequireBackpressure{TBuilder}(TBuilder, string)"/>,
/// each bound from configuration and validated when the host starts (a bad value stops start-up naming it).
/// </summary>
public static class RateLimitPolicyRegistration
{
    /// <summary>A fixed-window policy: <c>PermitLimit</c> per <c>Window</c>, per client.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The policy name endpoints refer to.</param>
    /// <param name="configuration">The section holding the options.</param>
    /// <param name="createForClient">Creates one client's limiter (services, options, client key); the in-process <see cref="FixedWindowLimiter"/> when null.</param>
    public static IServiceCollection AddFixedWindowPolicy(
        this IServiceCollection services, string name, IConfiguration configuration,
        Func<IServiceProvider, FixedWindowLimiterOptions, string, RateLimiter>? createForClient = null) =>
        services.AddPolicy(name, configuration, o => o.Validate(),
            createForClient ?? ((sp, o, _) => new FixedWindowLimiter(o, sp.GetRequiredService<TimeProvider>())), o => (o.PermitLimit, o.Window));

    /// <summary>A sliding-window policy: <c>PermitLimit</c> within any <c>Window</c> at segment granularity, per client.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The policy name endpoints refer to.</param>
    /// <param name="configuration">The section holding the options.</param>
    /// <param name="createForClient">Creates one client's limiter (services, options, client key); the in-process <see cref="SlidingWindowLimiter"/> when null.</param>
    public static IServiceCollection AddSlidingWindowPolicy(
        this IServiceCollection services, string name, IConfiguration configuration,
        Func<IServiceProvider, SlidingWindowLimiterOptions, string, RateLimiter>? createForClient = null) =>
        services.AddPolicy(name, configuration, o => o.Validate(),
            createForClient ?? ((sp, o, _) => new SlidingWindowLimiter(o, sp.GetRequiredService<TimeProvider>())), o => (o.PermitLimit, o.Window));

    /// <summary>A token-bucket policy: bursts of <c>TokenLimit</c>, refilled at <c>TokensPerPeriod</c> per <c>ReplenishmentPeriod</c>, per client.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The policy name endpoints refer to.</param>
    /// <param name="configuration">The section holding the options.</param>
    /// <param name="createForClient">Creates one client's limiter (services, options, client key); the in-process <see cref="TokenBucketLimiter"/> when null.</param>
    public static IServiceCollection AddTokenBucketPolicy(
        this IServiceCollection services, string name, IConfiguration configuration,
        Func<IServiceProvider, TokenBucketLimiterOptions, string, RateLimiter>? createForClient = null) =>
        services.AddPolicy(name, configuration, o => o.Validate(),
            createForClient ?? ((sp, o, _) => new TokenBucketLimiter(o, sp.GetRequiredService<TimeProvider>())), o => (o.TokensPerPeriod, o.ReplenishmentPeriod));

    /// <summary>A leaky-bucket policy: <c>PermitsPerPeriod</c> per <c>Period</c>, evenly spaced, with up to <c>QueueLimit</c> waiting, per client.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The policy name endpoints refer to.</param>
    /// <param name="configuration">The section holding the options.</param>
    /// <param name="createForClient">Creates one client's limiter (services, options, client key); the in-process <see cref="LeakyBucketLimiter"/> when null.</param>
    public static IServiceCollection AddLeakyBucketPolicy(
        this IServiceCollection services, string name, IConfiguration configuration,
        Func<IServiceProvider, LeakyBucketLimiterOptions, string, RateLimiter>? createForClient = null) =>
        services.AddPolicy(name, configuration, o => o.Validate(),
            createForClient ?? ((sp, o, _) => new LeakyBucketLimiter(o, sp.GetRequiredService<TimeProvider>())), o => (o.PermitsPerPeriod, o.Period));

    private static IServiceCollection AddPolicy<TOptions>(
        this IServiceCollection services,
        string name,
        IConfiguration configuration,
        Action<TOptions> validate,
        Func<IServiceProvider, TOptions, string, RateLimiter> create,
        Func<TOptions, (long Quota, TimeSpan Window)> describe)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddBackpressureMetrics();
        services.AddOptions<TOptions>(name)
            .Bind(configuration)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>>(new OptionsValidator<TOptions>("Rate-limit policy", name, validate));
        services.AddKeyedSingleton(name, (sp, _) =>
        {
            TOptions options = sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name);
            var (quota, window) = describe(options);
            var limiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                RateLimitPartition.Get(ClientPartitionKey.From(context), client => create(sp, options, client)));
            return new RateLimitPolicy(name, limiter, quota, (long)Math.Ceiling(window.TotalSeconds));
        });
        return services;
    }
}
