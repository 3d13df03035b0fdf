using System.Threading.RateLimiting;

namespace Backpressure.Admission;

/// <summary>
/// A refusal of a waiting room, one per criticality and reason so that refusing allocates nothing; its
/// <see cref="MetadataName.RetryAfter"/> is computed when read.
/// </summary>
internal sealed class ShedLease(AdmissionQueue room, Criticality criticality, ShedReason reason) : RateLimitLease
{
    private static readonly string[] s_names =
        [MetadataName.RetryAfter.Name, LimiterMetadata.ShedCriticality.Name, LimiterMetadata.ShedReason.Name];

    public Criticality Criticality => criticality;

    public ShedReason Reason => reason;

    public override bool IsAcquired => false;

    public override IEnumerable<string> MetadataNames => s_names;

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        metadata = metadataName == MetadataName.RetryAfter.Name ? room.RetryAfter(reason)
            : metadataName == LimiterMetadata.ShedCriticality.Name ? criticality
            : metadataName == LimiterMetadata.ShedReason.Name ? reason
            : null;
        return metadata is not null;
    }
}
