using System.Threading.RateLimiting;
using Backpressure.Admission;

namespace Backpressure;

/// <summary>Lease metadata of Backpressure's own, beside the base library's <see cref="MetadataName"/>.</summary>
public static class LimiterMetadata
{
    /// <summary>
    /// On a refused lease: the limiter could not decide because the store it shares with other
    /// instances is unavailable, and it fails closed. The value says why. An HTTP adapter answers
    /// <c>503 Service Unavailable</c> rather than <c>429</c>: the client did nothing wrong.
    /// </summary>
    public static MetadataName<string> Unavailable { get; } = MetadataName.Create<string>("BACKPRESSURE_UNAVAILABLE");

    /// <summary>On a lease refused by a <see cref="WaitingRoom{TResource}"/>: the criticality of the request it shed.</summary>
    public static MetadataName<Criticality> ShedCriticality { get; } = MetadataName.Create<Criticality>("BACKPRESSURE_SHED_CRITICALITY");

    /// <summary>On a lease refused by a <see cref="WaitingRoom{TResource}"/>: why it was shed.</summary>
    public static MetadataName<ShedReason> ShedReason { get; } = MetadataName.Create<ShedReason>("BACKPRESSURE_SHED_REASON");
}
