using System.Threading.RateLimiting;

namespace Backpressure.Redis;

/// <summary>A Redis rate limiter's leases: one shared grant (nothing to return) and refusals with <c>RetryAfter</c> and, when Redis is unavailable, why.</summary>
internal sealed class RedisLease : RateLimitLease
{
    private static readonly string[] RetryAfterOnly = [MetadataName.RetryAfter.Name];
    private static readonly string[] RetryAfterAndUnavailable = [MetadataName.RetryAfter.Name, LimiterMetadata.Unavailable.Name];

    private readonly TimeSpan? _retryAfter;
    private readonly string? _unavailable;

    private RedisLease(bool acquired, TimeSpan? retryAfter, string? unavailable)
    {
        IsAcquired = acquired;
        _retryAfter = retryAfter;
        _unavailable = unavailable;
    }

    public static RateLimitLease Granted { get; } = new RedisLease(true, null, null);

    /// <summary>A refusal without metadata: <c>AttemptAcquire</c>'s "ask asynchronously".</summary>
    public static RateLimitLease Undecided { get; } = new RedisLease(false, null, null);

    public override bool IsAcquired { get; }

    public override IEnumerable<string> MetadataNames => _unavailable is not null ? RetryAfterAndUnavailable : _retryAfter is not null ? RetryAfterOnly : [];

    public static RateLimitLease Refused(TimeSpan retryAfter) => new RedisLease(false, retryAfter, null);

    public static RateLimitLease Unavailable(TimeSpan retryAfter, string reason) => new RedisLease(false, retryAfter, reason);

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        if (metadataName == MetadataName.RetryAfter.Name && _retryAfter is { } retryAfter)
        {
            metadata = retryAfter;
            return true;
        }

        if (metadataName == LimiterMetadata.Unavailable.Name && _unavailable is not null)
        {
            metadata = _unavailable;
            return true;
        }

        metadata = null;
        return false;
    }
}
