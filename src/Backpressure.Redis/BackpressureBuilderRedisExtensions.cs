using Backpressure.AspNetCore;
using Backpressure.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Backpressure.Redis;

/// <summary>Chooses Redis as the store of a <see cref="BackpressureBuilder"/>'s per-client rate limits.</summary>
public static class BackpressureBuilderRedisExtensions
{
    /// <summary>
    /// Keeps every per-client rate limit (<c>AddFixedWindow</c>, <c>AddSlidingWindow</c>, <c>AddTokenBucket</c>,
    /// <c>AddLeakyBucket</c>) in Redis, so the instances of a service share one limit per client. Concurrency
    /// limits (gauges, adaptive limits) stay in-process: they guard each instance's own resources.
    /// <see cref="RedisStoreOptions"/> are bound from <paramref name="configuration"/> (for example
    /// <c>Backpressure:Redis</c>) and validated at start-up. The connection is the host's
    /// <see cref="IConnectionMultiplexer"/> when it registered one before this call; otherwise one is opened from
    /// <see cref="RedisStoreOptions.Configuration"/> (a StackExchange.Redis configuration string: passwords, ACL
    /// users and TLS go there), which is then required. A Redis that is down at start-up does not stop the host:
    /// the store connects in the background, and its failure policy answers until Redis is reachable.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The section holding <see cref="RedisStoreOptions"/>.</param>
    public static BackpressureBuilder UseRedis(this BackpressureBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(builder);
        string kind = configuration is IConfigurationSection section ? $"Redis store ({section.Path})" : "Redis store";
        builder.Services.AddSingleton(UnknownSettings.Validator<RedisStoreOptions>(kind, null, configuration, [typeof(RedisStoreOptions)]));
        return builder.UseRedis(options => options.Bind(configuration), kind);
    }

    /// <summary>As <see cref="UseRedis(BackpressureBuilder, IConfiguration)"/>, with the options set in code.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the store's options.</param>
    public static BackpressureBuilder UseRedis(this BackpressureBuilder builder, Action<RedisStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return builder.UseRedis(options => options.Configure(configure), null);
    }

    private static BackpressureBuilder UseRedis(this BackpressureBuilder builder, Action<OptionsBuilder<RedisStoreOptions>> configure, string? kind)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        bool hostHasConnection = services.Any(d => d.ServiceType == typeof(IConnectionMultiplexer));
        services.AddSingleton<IValidateOptions<RedisStoreOptions>>(new OptionsValidator<RedisStoreOptions>(kind ?? "Redis store", null, o =>
        {
            o.Validate();
            if (!hostHasConnection)
            {
                o.ValidateConfiguration();
            }
        }));
        configure(services.AddOptions<RedisStoreOptions>().ValidateOnStart());
        services.TryAddSingleton<IConnectionMultiplexer>(sp =>
        {
            // Not aborting when Redis is down at start: the failure policy answers until it is reachable.
            var options = ConfigurationOptions.Parse(sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value.Configuration!);
            options.AbortOnConnectFail = false;
            return ConnectionMultiplexer.Connect(options);
        });
        services.TryAddSingleton(sp => new RedisStore(
            sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<RedisStore>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        services.Replace(ServiceDescriptor.Singleton<RateLimitBackend>(sp => new RedisRateLimitBackend(sp.GetRequiredService<RedisStore>())));
        services.AddHostedService<RedisWarmUp>();
        return builder;
    }
}
