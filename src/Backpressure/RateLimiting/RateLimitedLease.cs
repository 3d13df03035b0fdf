using System.Threading.RateLimiting;

namespace Backpressure.RateLimiting;

/// <summary>The leases of rate limiters: one shared granted lease (nothing to return) and refusals carrying <c>RetryAfter</c>.</summary>
internal sealed class RateLimitedLease : RateLimitLease
{
    private static readonly string[] s_retryAfterName = [MetadataName.RetryAfter.Name];

    private readonly TimeSpan? _retryAfter;

    private RateLimitedLease(bool acquired, TimeSpan? retryAfter)
    {
        IsAcquired = acquired;
        _retryAfter = retryAfter;
    }

    public static RateLimitLease Granted { get; } = new RateLimitedLease(true, null);

    public override bool IsAcquired { get; }

    public override IEnumerable<string> MetadataNames => _retryAfter is null ? [] : s_retryAfterName;

    public static RateLimitLease Refused(TimeSpan retryAfter) => new RateLimitedLease(false, retryAfter);

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        if (_retryAfter is { } retryAfter && metadataName == MetadataName.RetryAfter.Name)
        {
            metadata = retryAfter;
            return true;
        }

        metadata = null;
        return false;
    }
}
