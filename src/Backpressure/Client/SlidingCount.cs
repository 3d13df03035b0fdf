namespace Backpressure.Client;

/// <summary>
/// A count of events over the last <c>window</c>, in buckets of a fixed width on a <see cref="TimeProvider"/>: an event
/// leaves the count one bucket width after the window passes it. Not thread-safe; its owner locks.
/// </summary>
internal sealed class SlidingCount(TimeSpan window, int buckets, TimeProvider time)
{
    private readonly long[] _counts = new long[buckets];
    private readonly long _bucketTicks = Math.Max(1, (long)(window.TotalSeconds * time.TimestampFrequency / buckets));
    private long _currentBucket = long.MinValue;
    private long _sum;

    public long Sum(long now)
    {
        Advance(now);
        return _sum;
    }

    public void Add(long now, long count = 1)
    {
        Advance(now);
        _counts[(int)(_currentBucket % _counts.Length)] += count;
        _sum += count;
    }

    /// <summary>Drops the buckets the window has passed since the last call.</summary>
    private void Advance(long now)
    {
        long bucket = now / _bucketTicks;
        if (_currentBucket == long.MinValue)
        {
            _currentBucket = bucket;
            return;
        }

        long passed = Math.Min(bucket - _currentBucket, _counts.Length);
        for (long i = 1; i <= passed; i++)
        {
            int slot = (int)((_currentBucket + i) % _counts.Length);
            _sum -= _counts[slot];
            _counts[slot] = 0;
        }

        _currentBucket = Math.Max(_currentBucket, bucket);
    }
}
