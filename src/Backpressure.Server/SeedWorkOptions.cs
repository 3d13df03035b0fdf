namespace Backpressure.Server;

/// <summary>
/// What one call of the seed work costs (configuration section <c>SeedWork</c>): memory that is
/// allocated and touched, CPU time, and an I/O wait, in that order.
/// </summary>
public sealed class SeedWorkOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "SeedWork";

    /// <summary>Mebibytes allocated and touched per call, held until the call ends. 0 to 4096; default 8.</summary>
    public int MemoryPerCallMegabytes { get; set; } = 8;

    /// <summary>CPU time spent per call, checksumming the buffer. Zero to 10 s; default 20 ms.</summary>
    public TimeSpan CpuTime { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>I/O wait per call, with the buffer still held. Zero to 10 min; default 500 ms.</summary>
    public TimeSpan IoTime { get; set; } = TimeSpan.FromMilliseconds(500);
}
