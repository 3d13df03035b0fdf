using System.Threading.RateLimiting;
using Backpressure.Adaptive;

namespace Backpressure.Admission;

/// <summary>
/// The engine of <see cref="WaitingRoom{TResource}"/>, apart from how a resource becomes an
/// <see cref="AdmissionRequest"/>: the priority threshold, the time-bounded queue and its discipline,
/// and the pumping of waiters into the limiter as it makes room.
/// </summary>
/// <remarks>
/// <para>
/// Written because nothing in .NET's base library does this: its queueing limiters order only by arrival
/// (<see cref="QueueProcessingOrder"/>), bound the queue by count, and know no priority or deadline.
/// </para>
/// <para>
/// <b>Discipline.</b> Waiters are held per criticality; the most critical non-empty level is served first.
/// While no standing queue exists the oldest is served (FIFO) and a waiter waits at most <c>MaxWait</c>.
/// A queue that has not been empty for an interval is standing (CoDel's good-queue/bad-queue distinction):
/// then the newest is served first (adaptive LIFO: its caller is the likeliest still waiting), a new waiter
/// may wait only twice the target, and waiters that have waited longer are shed. This is Meta's controlled
/// delay and adaptive LIFO ("Fail at scale", ACM Queue 13(8), 2015, and <c>folly/executors/Codel.cpp</c>,
/// whose slough timeout is twice the target, defaults target 5 ms, interval 100 ms).
/// </para>
/// <para>
/// <b>Room.</b> A waiter is admitted when a permit handed out through the room is returned, or, for a limiter
/// whose room comes back with time (a token bucket), when a timer set from the limiter's own
/// <c>RetryAfter</c> fires. The hot path (nothing waiting, a permit free) takes no lock.
/// </para>
/// </remarks>
internal sealed class AdmissionQueue : IDisposable
{
    private const int Levels = 4;
    private const int Reasons = 6;
    // The default target, in service times: a burst that takes up to about ten service times to drain (about ten
    // waiters per permit, at any limit) is a good queue and is served, not shed. One service time shed part of S3's
    // bursts of 200 ms (1.6 % refused, 2.9 % with a fixed 20 ms); CoDel's own 5 % of the interval is for networks,
    // whose queues hold packets, not callers.
    private const int TargetServiceTimes = 10;
    private static readonly TimeSpan s_minimumTarget = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan s_minimumInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_maximumInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_minimumRetry = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan s_unknownRetryAfter = TimeSpan.FromSeconds(1);

    private readonly RateLimiter _limiter;
    private readonly TimeProvider _time;
    private readonly Func<TimeSpan>? _serviceTime;
    private readonly WaitingRoomOptions _options;
    private readonly bool _shedByPriority;
    private readonly bool _limiterReportsReturns;
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter>[] _levels = [new(), new(), new(), new()];
    private readonly ShedLease[] _shedLeases = new ShedLease[Levels * Reasons];
    private readonly long[] _admitted = new long[Levels];
    private readonly long[] _shed = new long[Levels * Reasons];
    private readonly int[] _arrivals = new int[AdmissionPriority.RankCount];
    private readonly int[] _arrivalsSnapshot = new int[AdmissionPriority.RankCount];
    private readonly AdmissionThreshold _threshold = new();
    private readonly ITimer _tick;
    private ITimer? _retry;
    private long _retryDue = long.MaxValue;
    private RateLimitLease? _lastRefusal;
    private int _queued;
    private int _thresholdRank = AdmissionPriority.RankCount - 1;
    private long _lastEmpty;
    private long _targetTicks;
    private long _intervalTicks;
    private long _serviceTicks;
    private long _grantedAtLastTick;
    private long _grantedInLastTick;
    private long _roomShedsAtLastTick;
    private int _disposed;

    public AdmissionQueue(RateLimiter limiter, WaitingRoomOptions options, TimeProvider time)
    {
        _limiter = limiter;
        _options = options;
        _shedByPriority = options.ShedByPriority;
        _time = time;
        switch (limiter)
        {
            case AdaptiveConcurrencyLimiter adaptive:
                _serviceTime = () => adaptive.MeanLatency;
                // Our own limiter reports every permit returned: its leases go out as they are, with no wrapper to allocate.
                adaptive.NotifyOnPermitReturned(OnPermitReturned);
                _limiterReportsReturns = true;
                break;
            case PressureGauge gauge:
                _serviceTime = () => gauge.MeanHoldTime;
                break;
        }

        for (int level = 0; level < Levels; level++)
        {
            for (int reason = 0; reason < Reasons; reason++)
            {
                _shedLeases[(level * Reasons) + reason] = new ShedLease(this, (Criticality)level, (ShedReason)reason);
            }
        }

        _lastEmpty = time.GetTimestamp();
        RefreshTimes();
        _tick = time.CreateTimer(static state => ((AdmissionQueue)state!).Tick(), this, TickPeriod, TickPeriod);
    }

    public RateLimiter Limiter => _limiter;

    public int QueuedCount => Volatile.Read(ref _queued);

    public AdmissionPriority Threshold => AdmissionPriority.FromRank(Volatile.Read(ref _thresholdRank));

    public TimeSpan Target => TimeSpan.FromTicks(Volatile.Read(ref _targetTicks));

    public TimeSpan Interval => TimeSpan.FromTicks(Volatile.Read(ref _intervalTicks));

    public bool IsStanding
    {
        get
        {
            lock (_gate)
            {
                return Standing(_time.GetTimestamp());
            }
        }
    }

    public AdmissionCounts Counts(Criticality criticality)
    {
        int level = (int)criticality;
        long shed = 0;
        for (int reason = 0; reason < Reasons; reason++)
        {
            shed += Volatile.Read(ref _shed[(level * Reasons) + reason]);
        }

        return new AdmissionCounts(Volatile.Read(ref _admitted[level]), shed, Volatile.Read(ref _shed[(level * Reasons) + (int)ShedReason.Priority]));
    }

    public long ShedCount(Criticality criticality, ShedReason reason) => Volatile.Read(ref _shed[((int)criticality * Reasons) + (int)reason]);

    public RateLimiterStatistics Statistics()
    {
        long admitted = 0, shed = 0;
        for (int level = 0; level < Levels; level++)
        {
            AdmissionCounts counts = Counts((Criticality)level);
            admitted += counts.Admitted;
            shed += counts.Shed;
        }

        return new RateLimiterStatistics
        {
            CurrentAvailablePermits = _limiter.GetStatistics()?.CurrentAvailablePermits ?? 0,
            CurrentQueuedCount = QueuedCount,
            TotalSuccessfulLeases = admitted,
            TotalFailedLeases = shed,
        };
    }

    public RateLimitLease AttemptAcquire(AdmissionRequest request, int permitCount)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        int level = (int)request.Priority.Criticality;
        if (ShedByThreshold(request.Priority.Rank))
        {
            return Shed(level, ShedReason.Priority);
        }

        bool mayGoFirst = Volatile.Read(ref _queued) == 0 || !AnyWaitingAtOrAbove(level);
        return (mayGoFirst ? AdmitAtOnce(level, permitCount) : null) ?? (RateLimitLease)Shed(level, ShedReason.LimitFull);
    }

    public ValueTask<RateLimitLease> AcquireAsync(AdmissionRequest request, int permitCount, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<RateLimitLease>(cancellationToken);
        }

        int level = (int)request.Priority.Criticality;
        if (ShedByThreshold(request.Priority.Rank))
        {
            return new(Shed(level, ShedReason.Priority));
        }

        // With others waiting, Enqueue decides under the lock whether this request may go before them.
        if (Volatile.Read(ref _queued) == 0 && AdmitAtOnce(level, permitCount) is { } admitted)
        {
            return new(admitted);
        }

        if (_options.QueueLimit == 0)
        {
            return new(Shed(level, ShedReason.LimitFull));
        }

        return Enqueue(request, level, permitCount, cancellationToken);
    }

    /// <summary>A permit handed out through the room came back: admit whoever waits into the room it made.</summary>
    public void OnPermitReturned()
    {
        if (Volatile.Read(ref _queued) != 0)
        {
            Pump();
        }
    }

    /// <summary>The honest wait for a request shed for <paramref name="reason"/>.</summary>
    public TimeSpan RetryAfter(ShedReason reason)
    {
        TimeSpan limiter = _lastRefusal is { } refusal && refusal.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan after)
            ? after
            : s_unknownRetryAfter;

        // With the queue ahead, the wait is at least the time it takes to drain at the rate the limit grants.
        long granted = Volatile.Read(ref _grantedInLastTick);
        TimeSpan drain = granted > 0
            ? TimeSpan.FromTicks((long)(Volatile.Read(ref _queued) * (double)TickPeriod.Ticks / granted))
            : TimeSpan.Zero;
        TimeSpan wait = reason == ShedReason.Priority ? Max(Interval, drain) : Max(limiter, drain);
        return Max(wait, s_minimumRetry);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _tick.Dispose();
        lock (_gate)
        {
            _retry?.Dispose();
            for (int level = 0; level < Levels; level++)
            {
                while (_levels[level].First is { } node)
                {
                    Remove(node);
                    node.Value.Refuse(ShedLeaseFor(level, ShedReason.LimitFull));
                }
            }
        }

        _limiter.Dispose();
    }

    private bool ShedByThreshold(int rank)
    {
        if (!_shedByPriority)
        {
            return false;
        }

        // A plain increment: a count lost to a race only blurs the histogram the controller reads.
        _arrivals[rank]++;
        return rank > Volatile.Read(ref _thresholdRank);
    }

    /// <summary>A permit of the limiter now, counted as admitted; null when it refuses (its refusal kept for <see cref="RetryAfter"/>).</summary>
    private RateLimitLease? AdmitAtOnce(int level, int permitCount)
    {
        RateLimitLease lease = _limiter.AttemptAcquire(permitCount);
        if (!lease.IsAcquired)
        {
            _lastRefusal = lease;
            return null;
        }

        Interlocked.Increment(ref _admitted[level]);
        return _limiterReportsReturns ? lease : new AdmittedLease(this, lease);
    }

    private ShedLease Shed(int level, ShedReason reason)
    {
        Interlocked.Increment(ref _shed[(level * Reasons) + (int)reason]);
        return ShedLeaseFor(level, reason);
    }

    private ShedLease ShedLeaseFor(int level, ShedReason reason) => _shedLeases[(level * Reasons) + (int)reason];

    private bool AnyWaitingAtOrAbove(int level)
    {
        lock (_gate)
        {
            return WaitingAtOrAbove(level);
        }
    }

    /// <summary>Whether a waiter of <paramref name="level"/> or a more critical one waits; under the lock.</summary>
    private bool WaitingAtOrAbove(int level)
    {
        for (int above = 0; above <= level; above++)
        {
            if (_levels[above].Count != 0)
            {
                return true;
            }
        }

        return false;
    }

    private ValueTask<RateLimitLease> Enqueue(AdmissionRequest request, int level, int permitCount, CancellationToken cancellationToken)
    {
        RefreshTimes();
        long now = _time.GetTimestamp();
        TimeSpan wait = _options.MaxWait;
        if (request.Deadline is { } deadline)
        {
            // The caller gives up at its deadline: a request that cannot start early enough to finish by then is refused now.
            TimeSpan latestStart = deadline - TimeSpan.FromTicks(Volatile.Read(ref _serviceTicks));
            if (latestStart <= TimeSpan.Zero)
            {
                return new(Shed(level, ShedReason.Deadline));
            }

            wait = Min(wait, latestStart);
        }

        Waiter waiter;
        Waiter? displaced = null;
        lock (_gate)
        {
            // Room may have come back since the lock-free attempt; the more critical waiters go first.
            if (!WaitingAtOrAbove(level))
            {
                if (AdmitAtOnce(level, permitCount) is { } admitted)
                {
                    return new(admitted);
                }

                ArmRetry(now);
            }

            if (_queued >= _options.QueueLimit)
            {
                displaced = LeastCriticalWaiterBelow(level);
                if (displaced is null)
                {
                    return new(Shed(level, ShedReason.QueueFull));
                }

                Remove(displaced.Node!);
            }

            if (Standing(now))
            {
                wait = Min(wait, SloughAfter);
            }
            else if (_queued == 0)
            {
                _lastEmpty = now;
            }

            waiter = new Waiter(this, level, permitCount, now);
            waiter.Node = _levels[level].AddLast(waiter);
            _queued++;
            waiter.Start(wait, cancellationToken);
        }

        displaced?.Refuse(Shed(displaced.Level, ShedReason.Displaced));
        return new(waiter.Task);
    }

    private Waiter? LeastCriticalWaiterBelow(int level)
    {
        for (int below = Levels - 1; below > level; below--)
        {
            if (_levels[below].First is { } oldest)
            {
                return oldest.Value;
            }
        }

        return null;
    }

    /// <summary>
    /// How often the threshold moves: every interval, but at least every 100 ms, so that its steps come faster than
    /// a second and the cohorts shed over any second are the same ones.
    /// </summary>
    private TimeSpan TickPeriod => Min(Interval, s_minimumInterval);

    private TimeSpan SloughAfter => TimeSpan.FromTicks(2 * Volatile.Read(ref _targetTicks));

    private bool Standing(long now) =>
        _queued != 0 && _time.GetElapsedTime(_lastEmpty, now).Ticks > Volatile.Read(ref _intervalTicks);

    private void Pump()
    {
        List<(Waiter Waiter, RateLimitLease Lease)>? outcomes = null;
        lock (_gate)
        {
            if (_disposed != 0)
            {
                return;
            }

            long now = _time.GetTimestamp();
            bool standing = Standing(now);
            if (standing)
            {
                // CoDel's slough: while a standing queue exists, nobody waits more than twice the target.
                TimeSpan slough = SloughAfter;
                for (int level = 0; level < Levels; level++)
                {
                    while (_levels[level].First is { } oldest && _time.GetElapsedTime(oldest.Value.Enqueued, now) > slough)
                    {
                        Remove(oldest);
                        (outcomes ??= []).Add((oldest.Value, Shed(level, ShedReason.WaitedTooLong)));
                    }
                }
            }

            bool lifo = standing && _options.AdaptiveLifo;
            while (_queued != 0)
            {
                LinkedList<Waiter> level = FirstNonEmptyLevel();
                LinkedListNode<Waiter> next = lifo ? level.Last! : level.First!;
                if (AdmitAtOnce(next.Value.Level, next.Value.Permits) is not { } admitted)
                {
                    ArmRetry(now);
                    break;
                }

                Remove(next);
                (outcomes ??= []).Add((next.Value, admitted));
            }

            if (_queued == 0)
            {
                _lastEmpty = now;
            }
        }

        if (outcomes is not null)
        {
            foreach ((Waiter waiter, RateLimitLease lease) in outcomes)
            {
                waiter.Complete(lease);
            }
        }
    }

    private LinkedList<Waiter> FirstNonEmptyLevel()
    {
        foreach (LinkedList<Waiter> level in _levels)
        {
            if (level.Count != 0)
            {
                return level;
            }
        }

        throw new InvalidOperationException("the queue count says a waiter exists but every level is empty");
    }

    private void Remove(LinkedListNode<Waiter> node)
    {
        node.List!.Remove(node);
        _queued--;
        node.Value.Stop();
    }

    /// <summary>
    /// Sets a timer to try again when the limiter says room comes back: for limiters whose room returns with
    /// time rather than with permits, and as a safety net when permits are returned past the room.
    /// </summary>
    private void ArmRetry(long now)
    {
        TimeSpan after = _lastRefusal is { } refusal && refusal.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter) ? retryAfter : Target;
        after = Max(s_minimumRetry, Min(after, Target));
        long due = now + (long)(after.Ticks * (_time.TimestampFrequency / (double)TimeSpan.TicksPerSecond));
        if (due >= _retryDue && _retry is not null)
        {
            return;
        }

        _retryDue = due;
        _retry ??= _time.CreateTimer(static state => ((AdmissionQueue)state!).OnRetry(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _retry.Change(after, Timeout.InfiniteTimeSpan);
    }

    private void OnRetry()
    {
        lock (_gate)
        {
            _retryDue = long.MaxValue;
        }

        Pump();
    }

    private void Tick()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        TimeSpan period = TickPeriod;
        long granted = 0, roomSheds = 0;
        for (int level = 0; level < Levels; level++)
        {
            granted += Volatile.Read(ref _admitted[level]);
            for (int reason = 0; reason < Reasons; reason++)
            {
                if (reason != (int)ShedReason.Priority)
                {
                    roomSheds += Volatile.Read(ref _shed[(level * Reasons) + reason]);
                }
            }
        }

        long grantedInTick = granted - _grantedAtLastTick;
        bool shedForRoom = roomSheds != _roomShedsAtLastTick;
        _grantedAtLastTick = granted;
        _roomShedsAtLastTick = roomSheds;
        Volatile.Write(ref _grantedInLastTick, grantedInTick);
        bool standing;
        lock (_gate)
        {
            standing = Standing(_time.GetTimestamp());
        }

        // Overloaded: requests were refused for want of room, or a standing queue formed (CoDel's bad queue). Busy: a
        // queue that is absorbing a burst (good queue). Calm: no queue at all.
        OverloadSignal signal = shedForRoom || standing ? OverloadSignal.Overloaded
            : Volatile.Read(ref _queued) != 0 ? OverloadSignal.Busy
            : OverloadSignal.Calm;

        if (_shedByPriority)
        {
            for (int rank = 0; rank < _arrivals.Length; rank++)
            {
                _arrivalsSnapshot[rank] = Interlocked.Exchange(ref _arrivals[rank], 0);
            }

            Volatile.Write(ref _thresholdRank, _threshold.Update(_arrivalsSnapshot, grantedInTick, signal));
        }

        RefreshTimes();
        if (TickPeriod != period)
        {
            _tick.Change(TickPeriod, TickPeriod);
        }

        if (Volatile.Read(ref _queued) != 0)
        {
            // Sheds the waiters of a queue that became standing even when no permit comes back to do it.
            Pump();
        }
    }

    /// <summary>Reads the limiter's service time and derives the defaults scaled to it; cheap, so done at each tick and each wait.</summary>
    private void RefreshTimes()
    {
        TimeSpan service = _serviceTime?.Invoke() ?? TimeSpan.Zero;
        TimeSpan target = _options.Target ?? Min(Max(s_minimumTarget, service * TargetServiceTimes), _options.MaxWait / 2);
        TimeSpan interval = _options.Interval ?? Min(Max(s_minimumInterval, target * 20), s_maximumInterval);
        Volatile.Write(ref _serviceTicks, service.Ticks);
        Volatile.Write(ref _targetTicks, target.Ticks);
        Volatile.Write(ref _intervalTicks, interval.Ticks);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>A request waiting for room: completed once, by admission, a shed, its time bound or its cancellation.</summary>
    private sealed class Waiter(AdmissionQueue room, int level, int permits, long enqueued)
    {
        private readonly TaskCompletionSource<RateLimitLease> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ITimer? _expiry;
        private CancellationTokenRegistration _cancellation;

        public int Level => level;

        public int Permits => permits;

        public long Enqueued => enqueued;

        public LinkedListNode<Waiter>? Node { get; set; }

        public Task<RateLimitLease> Task => _completion.Task;

        /// <summary>Starts the waiter's time bound and cancellation; called under the room's lock.</summary>
        public void Start(TimeSpan wait, CancellationToken cancellationToken)
        {
            _expiry = room._time.CreateTimer(static state => ((Waiter)state!).OnExpired(), this, wait, Timeout.InfiniteTimeSpan);
            if (cancellationToken.CanBeCanceled)
            {
                _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).OnCancelled(token), this);
            }
        }

        /// <summary>Stops the time bound and the cancellation; called under the room's lock when it leaves the queue. Never waits for a running callback, which may be waiting for the lock.</summary>
        public void Stop()
        {
            _expiry?.Dispose();
            _cancellation.Unregister();
        }

        public void Complete(RateLimitLease lease)
        {
            if (!_completion.TrySetResult(lease))
            {
                lease.Dispose();
            }
        }

        public void Refuse(ShedLease lease) => _completion.TrySetResult(lease);

        private void OnExpired()
        {
            if (TryLeave())
            {
                Refuse(room.Shed(level, ShedReason.WaitedTooLong));
            }
        }

        private void OnCancelled(CancellationToken token)
        {
            if (TryLeave())
            {
                _completion.TrySetCanceled(token);
            }
        }

        private bool TryLeave()
        {
            lock (room._gate)
            {
                if (Node?.List is null)
                {
                    return false;
                }

                room.Remove(Node);
                return true;
            }
        }
    }
}
