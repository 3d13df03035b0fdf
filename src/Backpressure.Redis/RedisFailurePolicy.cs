namespace Backpressure.Redis;

/// <summary>What a Redis limiter decides while Redis is unreachable or slower than its timeout.</summary>
public enum RedisFailurePolicy
{
    /// <summary>Admit by the in-process limiter of the same kind and limits, one per instance (so the fleet admits up to N × the limit). The default.</summary>
    FailOpen,

    /// <summary>Refuse, with <see cref="LimiterMetadata.Unavailable"/> on the lease, which the ASP.NET Core adapter answers with <c>503</c>.</summary>
    FailClosed,
}
