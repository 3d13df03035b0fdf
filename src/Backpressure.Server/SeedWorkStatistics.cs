namespace Backpressure.Server;

/// <summary>A snapshot of the seed work.</summary>
/// <param name="InFlight">Calls doing the work now.</param>
/// <param name="PeakInFlight">The most calls that were doing the work at once since start.</param>
/// <param name="Completed">Calls that finished the work.</param>
/// <param name="Failed">Calls that did not: out of memory, cancelled by the client going away.</param>
/// <param name="MemoryPerCallBytes">What each call holds while in flight.</param>
public sealed record SeedWorkStatistics(int InFlight, int PeakInFlight, long Completed, long Failed, long MemoryPerCallBytes)
{
    /// <summary>The memory the calls in flight at the peak asked for, in bytes.</summary>
    public long PeakMemoryDemandBytes => PeakInFlight * MemoryPerCallBytes;
}
