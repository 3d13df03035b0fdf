namespace Backpressure.Adaptive;

/// <summary>
/// The GC heap's use of the memory it may take, as a resource signal for
/// <see cref="QueueingDelayLimitOptions.ResourceUsage"/>.
/// </summary>
public static class GcHeapUsage
{
    /// <summary>
    /// The heap's size after the last collection, less its fragmentation, as a share of the memory
    /// available to the GC (the hard limit when one is set, as in a container): 0 for an empty heap,
    /// 1 for a heap at its limit. Garbage not yet collected is not counted, because the GC collects
    /// only when it must and a heap full of garbage is not a heap under pressure.
    /// </summary>
    public static double Read()
    {
        GCMemoryInfo info = GC.GetGCMemoryInfo();
        long available = info.TotalAvailableMemoryBytes;
        return available <= 0 ? 0 : Math.Clamp((double)(info.HeapSizeBytes - info.FragmentedBytes) / available, 0, 1);
    }
}
