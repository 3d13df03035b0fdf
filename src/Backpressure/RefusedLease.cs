using System.Threading.RateLimiting;

namespace Backpressure;

/// <summary>
/// The refusal a concurrency limit hands out, one per limiter so that refusing allocates nothing.
/// Its <see cref="MetadataName.RetryAfter"/> is computed when read, so it is current however long
/// ago the lease was cached.
/// </summary>
internal sealed class RefusedLease(Func<TimeSpan> retryAfter) : RateLimitLease
{
    private static readonly string[] s_names = [MetadataName.RetryAfter.Name];

    public override bool IsAcquired => false;

    public override IEnumerable<string> MetadataNames => s_names;

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        if (metadataName == MetadataName.RetryAfter.Name)
        {
            metadata = retryAfter();
            return true;
        }

        metadata = null;
        return false;
    }
}
