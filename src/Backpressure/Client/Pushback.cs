namespace Backpressure.Client;

/// <summary>
/// Until when a destination asked its clients to stay away (<c>Retry-After</c>, <c>grpc-retry-pushback-ms</c>): a later
/// request to stay away extends it, an earlier one never shortens it. It also remembers the last wait asked for, which
/// tells a call the client's own throttle refuses when to come back. Thread-safe without a lock.
/// </summary>
public sealed class Pushback
{
    private static readonly TimeSpan s_longestThrottledWait = TimeSpan.FromSeconds(1);
    private readonly TimeProvider _time;
    private long _until = long.MinValue;

    // The wait asked for last, in ticks (at least one, so that "come back now" still counts); 0 before any.
    private long _lastAskedTicks;

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

    /// <summary>
    /// When a call the client's own throttle refused should come back: the last wait the destination asked for when under
    /// a second, else a second. The throttle knows only that the destination keeps refusing, not when it will have room;
    /// a concurrency limit's refusals say that to the millisecond, and a caller that waited a whole second for a permit
    /// due in 30 ms left it unused (<c>bp load --client-throttle</c> against <c>bp demo</c>'s <c>/adaptive</c>: 14.4 calls/s
    /// waiting a second, 27.2 waiting the server's wait).
    /// </summary>
    public TimeSpan ThrottledWait =>
        Volatile.Read(ref _lastAskedTicks) is > 0 and long ticks && ticks < s_longestThrottledWait.Ticks ? TimeSpan.FromTicks(ticks) : s_longestThrottledWait;

    /// <summary>Remembers a wait the destination asked for, without staying away (a short one that only its own retry waits out).</summary>
    public void Note(TimeSpan wait) => Volatile.Write(ref _lastAskedTicks, Math.Max(1, wait.Ticks));

    /// <summary>Stays away for <paramref name="wait"/> from now, unless already asked to stay away longer.</summary>
    public void Extend(TimeSpan wait)
    {
        Note(wait);
        long until = _time.GetTimestamp() + (long)(wait.TotalSeconds * _time.TimestampFrequency);
        AtomicMaximum.Raise(ref _until, until);
    }
}
