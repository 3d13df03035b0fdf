namespace Backpressure.Server.Tests;

/// <summary>The test process's managed heap, for the tests of <see cref="HeapMeasuringTests"/> (which run alone).</summary>
internal static class ManagedHeap
{
    /// <summary>The bytes the heap holds after a full collection, finalizers run.</summary>
    public static long AfterCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>
    /// The least of <paramref name="samples"/> measurements <paramref name="apart"/> apart, each after one blocking
    /// collection (lighter than <see cref="AfterCollection"/>, for a server under load in the same process): what the
    /// process holds for good, without what one snapshot may catch in passing (a burst of Kestrel's pooled buffers, a
    /// message being read by an in-process client).
    /// </summary>
    public static async Task<long> LeastOfAsync(int samples, TimeSpan apart)
    {
        long least = long.MaxValue;
        for (int i = 0; i < samples; i++)
        {
            if (i > 0)
            {
                await Task.Delay(apart);
            }

            GC.Collect();
            least = Math.Min(least, GC.GetTotalMemory(forceFullCollection: false));
        }

        return least;
    }
}
