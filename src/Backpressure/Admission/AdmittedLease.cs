using System.Threading.RateLimiting;

namespace Backpressure.Admission;

/// <summary>
/// A permit of the limiter behind a waiting room, handed out by the room: returning it returns the limiter's
/// permit once, then lets the room admit the next waiter into the room it made.
/// </summary>
/// <remarks>
/// Returning twice returns the limiter's permit once (every limiter's lease guarantees that) and looks for a waiter
/// twice, which is harmless; so this lease keeps no flag of its own, and the common path costs no atomic operation.
/// </remarks>
internal sealed class AdmittedLease(AdmissionQueue room, RateLimitLease inner) : RateLimitLease
{
    /// <summary>The limiter's own lease, for a limiter that reads its own (<c>MarkDropped</c>).</summary>
    public RateLimitLease Inner => inner;

    public override bool IsAcquired => true;

    public override IEnumerable<string> MetadataNames => inner.MetadataNames;

    public override bool TryGetMetadata(string metadataName, out object? metadata) => inner.TryGetMetadata(metadataName, out metadata);

    protected override void Dispose(bool disposing)
    {
        inner.Dispose();
        room.OnPermitReturned();
        base.Dispose(disposing);
    }
}
