using System.Threading.RateLimiting;

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
}
