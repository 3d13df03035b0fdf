using System.Threading.RateLimiting;

namespace Backpressure;

/// <summary>The answer to a zero-permit request that found room: acquired, holding nothing, so nothing to return.</summary>
internal sealed class EmptyLease : RateLimitLease
{
    public static EmptyLease Instance { get; } = new();

    public override bool IsAcquired => true;

    public override IEnumerable<string> MetadataNames => [];

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        metadata = null;
        return false;
    }
}
