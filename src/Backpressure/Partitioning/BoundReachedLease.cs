using System.Threading.RateLimiting;

namespace Backpressure.Partitioning;

/// <summary>
/// The refusal of a new partition key when the bound is reached and no partition is idle: the client did
/// nothing wrong (it has no count yet), the server is full of busy clients, so the lease carries
/// <see cref="LimiterMetadata.Unavailable"/> (HTTP answers <c>503</c>) and a one-second <c>RetryAfter</c>.
/// One per limiter, so refusing allocates nothing.
/// </summary>
internal sealed class BoundReachedLease(int maxPartitions) : RateLimitLease
{
    private static readonly string[] s_names = [MetadataName.RetryAfter.Name, LimiterMetadata.Unavailable.Name];

    private readonly string _reason = $"too many clients at once: all {maxPartitions} partitions the policy holds are busy";

    public static TimeSpan RetryAfter { get; } = TimeSpan.FromSeconds(1);

    public override bool IsAcquired => false;

    public override IEnumerable<string> MetadataNames => s_names;

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        metadata = metadataName == MetadataName.RetryAfter.Name ? RetryAfter
            : metadataName == LimiterMetadata.Unavailable.Name ? _reason
            : null;
        return metadata is not null;
    }
}
