namespace Backpressure;

/// <summary>Raises a shared value to at least a given one, lock-free: a peak, a deadline pushed later. <see cref="Interlocked"/> has no max.</summary>
internal static class AtomicMaximum
{
    /// <summary>Sets <paramref name="location"/> to <paramref name="value"/> unless it already holds as much or more.</summary>
    public static void Raise(ref long location, long value)
    {
        long seen = Volatile.Read(ref location);
        while (value > seen)
        {
            long previous = Interlocked.CompareExchange(ref location, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
