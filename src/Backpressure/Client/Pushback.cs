namespace Backpressure.Client;

/// <summary>
/// Until when a destination asked its clients to stay away (<c>Retry-After</c>, <c>grpc-retry-pushback-ms</c>): a later
/// request to stay away extends it, an earlier one never shortens it. Thread-safe without a lock.
/// </summary>
public sealed class Pushback
{
    private readonly TimeProvider _time;
    private long _until = long.MinValue;

    /// <summary>Creates a pushback that has not been asked for.</summary>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null.</param>
    public Pushback(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>How long the destination still asked to be left alone; zero or less when it did not.</summary>
    public TimeSpan Remaining
    {
        get
        {
            long until = Volatile.Read(ref _until);
            return until == long.MinValue ? TimeSpan.Zero : _time.GetElapsedTime(_time.GetTimestamp(), until);
        }
    }

    /// <summary>Stays away for <paramref name="wait"/> from now, unless already asked to stay away longer.</summary>
    public void Extend(TimeSpan wait)
    {
        long until = _time.GetTimestamp() + (long)(wait.TotalSeconds * _time.TimestampFrequency);
        AtomicMaximum.Raise(ref _until, until);
    }
}
