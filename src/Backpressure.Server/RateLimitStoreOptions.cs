using Backpressure.Redis;

namespace Backpressure.Server;

/// <summary>
/// Where the per-client rate limits (<c>/limited/*</c>) keep their state and whom they count against,
/// bound from <c>Backpressure</c> and validated at start-up. The Redis connection and behaviour are
/// <see cref="RedisStoreOptions"/>, bound from <c>Backpressure:Redis</c>. The pressure gauges stay
/// in-process whatever the store: they guard this instance's own memory.
/// </summary>
public sealed class RateLimitStoreOptions
{
    /// <summary>The section these options bind from.</summary>
    public const string Section = "Backpressure";

    /// <summary>The section <see cref="RedisStoreOptions"/> bind from.</summary>
    public const string RedisSection = "Backpressure:Redis";

    /// <summary><c>memory</c> (each instance limits alone; the default) or <c>redis</c> (instances share limits).</summary>
    public string Store { get; set; } = "memory";

    /// <summary>
    /// A header naming the client, such as <c>X-Client-Id</c>, that the rate limits count against instead of
    /// the remote address. Set it only behind a gateway that authenticates clients and sets the header: a
    /// client that chooses it freely escapes its limit by changing it. Unset by default.
    /// </summary>
    public string? ClientIdHeader { get; set; }

    /// <summary>True when the limits are shared through Redis.</summary>
    public bool UsesRedis => string.Equals(Store, "redis", StringComparison.OrdinalIgnoreCase);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is wrong.</summary>
    public void Validate()
    {
        if (!UsesRedis && !string.Equals(Store, "memory", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Backpressure:Store must be memory or redis (was '{Store}').", nameof(Store));
        }

        if (ClientIdHeader is not null && (ClientIdHeader.Length == 0 || ClientIdHeader.Any(c => c <= ' ' || c > '~' || c == ':')))
        {
            throw new ArgumentException($"Backpressure:ClientIdHeader must be a header name (was '{ClientIdHeader}').", nameof(ClientIdHeader));
        }
    }
}
