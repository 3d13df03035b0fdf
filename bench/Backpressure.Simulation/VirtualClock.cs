namespace Backpressure.Simulation;

/// <summary>
/// Simulated time: a clock that stands still until the simulation moves it. Its timestamps are
/// <see cref="TimeSpan"/> ticks, so the limiter under test reads exactly the simulation's time. Its
/// timers fire only when the simulation runs them (<see cref="RunNextTimer"/>), in due order, with the
/// clock set to their due time: a waiting room's time bounds run on simulated time, deterministically.
/// </summary>
public sealed class VirtualClock : TimeProvider
{
    private readonly PriorityQueue<(VirtualTimer Timer, long Version), (long Due, long Order)> _timers = new();
    private long _order;

    /// <summary>The current time, in ticks since the simulation began.</summary>
    public long Now { get; set; }

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override long GetTimestamp() => Now;

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new VirtualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Fires the earliest timer due at or before <paramref name="until"/>, moving the clock to its due time; false when none is.</summary>
    public bool RunNextTimer(long until)
    {
        while (_timers.TryPeek(out (VirtualTimer Timer, long Version) next, out (long Due, long Order) key))
        {
            if (next.Timer.Version != next.Version)
            {
                _timers.Dequeue();
                continue;
            }

            if (key.Due > until)
            {
                return false;
            }

            _timers.Dequeue();
            Now = Math.Max(Now, key.Due);
            next.Timer.Fire();
            return true;
        }

        return false;
    }

    private void Schedule(VirtualTimer timer, long due) => _timers.Enqueue((timer, timer.Version), (due, _order++));

    private sealed class VirtualTimer(VirtualClock clock, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;
        private bool _disposed;

        public long Version { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed)
            {
                return false;
            }

            Version++;
            _period = period;
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                clock.Schedule(this, clock.Now + Math.Max(0, dueTime.Ticks));
            }

            return true;
        }

        public void Fire()
        {
            if (_period != Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
            {
                clock.Schedule(this, clock.Now + _period.Ticks);
            }

            callback(state);
        }

        public void Dispose()
        {
            _disposed = true;
            Version++;
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
