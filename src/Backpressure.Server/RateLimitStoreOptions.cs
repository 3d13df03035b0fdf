using Backpressure.Redis;

namespace Backpressure.Server;

/// <summary>
/// Where the per-client rate limits (<c>/limited/*</c>) keep their state, bound from
/// <c>Backpressure</c> (<c>Store</c>) and <c>Backpressure:Redis</c>, and validated at start-up.
/// The pressure gauges stay in-process whatever the store: they guard this instance's own memory.
/// </summary>
public sealed class RateLimitStoreOptions
{
    /// <summary>The Redis section; <see cref="RedisStoreOptions"/> binds from it too.</summary>
    public const string RedisSection = "Backpressure:Redis";

    /// <summary><c>memory</c> (each instance limits alone; the default) or <c>redis</c> (instances share limits).</summary>
    public string Store { get; set; } = "memory";

    /// <summary>The StackExchange.Redis configuration string, such as <c>127.0.0.1:6379</c>; required when <see cref="Store"/> is <c>redis</c>.</summary>
    public string? Configuration { get; set; }

    /// <summary>True when the limits are shared through Redis.</summary>
    public bool UsesRedis => string.Equals(Store, "redis", StringComparison.OrdinalIgnoreCase);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is wrong.</summary>
    public void Validate()
    {
        if (!UsesRedis && !string.Equals(Store, "memory", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Backpressure:Store must be memory or redis (was '{Store}').", nameof(Store));
        }

        if (UsesRedis && string.IsNullOrWhiteSpace(Configuration))
        {
            throw new ArgumentException($"{RedisSection}:Configuration is required when Backpressure:Store is redis (a StackExchange.Redis configuration string such as 127.0.0.1:6379).", nameof(Configuration));
        }
    }
}
