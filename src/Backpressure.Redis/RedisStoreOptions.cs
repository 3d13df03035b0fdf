namespace Backpressure.Redis;

/// <summary>How Redis limiters use their store: key names, clock, timeout and what to do without Redis.</summary>
public sealed class RedisStoreOptions
{
    /// <summary>
    /// The StackExchange.Redis configuration string <c>UseRedis</c> connects with when the host registers no
    /// <c>IConnectionMultiplexer</c>, such as <c>127.0.0.1:6379</c>, or
    /// <c>redis.internal:6380,ssl=true,user=app,password=...</c> for TLS and an ACL user. Not used by a
    /// <see cref="RedisStore"/> constructed directly, which is given its connection.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>The first part of every key: keys are <c>{PREFIX:kind:partition}</c>, the braces a Redis Cluster hash tag so one limiter's keys share a slot. Default: <c>bp</c>.</summary>
    public string KeyPrefix { get; set; } = "bp";

    /// <summary>Whose clock the scripts use. Default: <see cref="RedisClock.Server"/>.</summary>
    public RedisClock Clock { get; set; } = RedisClock.Server;

    /// <summary>How long a check may take before the failure policy decides instead. Default: 250 ms.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>What to decide while Redis is unreachable or too slow. Default: <see cref="RedisFailurePolicy.FailOpen"/>.</summary>
    public RedisFailurePolicy FailurePolicy { get; set; } = RedisFailurePolicy.FailOpen;

    /// <summary>During an outage, how often one request tries Redis again while the rest go straight to the policy. Default: 1 s.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Distributed gauges: how long a permit stays held in Redis without its instance renewing it (renewed every third of this). Default: 30 s.</summary>
    public TimeSpan GaugeLeaseTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property out of range.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(KeyPrefix) || KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException($"{nameof(KeyPrefix)} must be non-empty and free of braces (was '{KeyPrefix}').", nameof(KeyPrefix));
        }

        if (!Enum.IsDefined(Clock))
        {
            throw new ArgumentException($"{nameof(Clock)} must be Server or Application (was {Clock}).", nameof(Clock));
        }

        if (!Enum.IsDefined(FailurePolicy))
        {
            throw new ArgumentException($"{nameof(FailurePolicy)} must be FailOpen or FailClosed (was {FailurePolicy}).", nameof(FailurePolicy));
        }

        InRange(Timeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1), nameof(Timeout));
        InRange(ProbeInterval, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10), nameof(ProbeInterval));
        InRange(GaugeLeaseTime, TimeSpan.FromMilliseconds(30), TimeSpan.FromDays(1), nameof(GaugeLeaseTime));
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming <see cref="Configuration"/> when a connection must be opened from it and it is missing.</summary>
    internal void ValidateConfiguration()
    {
        if (string.IsNullOrWhiteSpace(Configuration))
        {
            throw new ArgumentException(
                $"{nameof(Configuration)} is required when the host registers no IConnectionMultiplexer (a StackExchange.Redis configuration string such as 127.0.0.1:6379).",
                nameof(Configuration));
        }
    }

    private static void InRange(TimeSpan value, TimeSpan min, TimeSpan max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentException($"{name} must be from {min} to {max} (was {value}).", name);
        }
    }
}
