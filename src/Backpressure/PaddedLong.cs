using System.Runtime.InteropServices;

namespace Backpressure;

/// <summary>
/// A counter alone on its cache line, so that its writes do not invalidate the fields read on every
/// call beside it (false sharing).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedLong
{
    [FieldOffset(64)]
    public long Value;
}
