namespace Backpressure.Server;

/// <summary>The process's memory in bytes: resident now and at peak, and the GC's heap, commitment and allowance.</summary>
public sealed record MemorySnapshot(long WorkingSet, long PeakWorkingSet, long GcHeapSize, long GcCommitted, long GcAvailable);
