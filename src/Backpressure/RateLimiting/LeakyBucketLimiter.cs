using System.Threading.RateLimiting;

namespace Backpressure.RateLimiting;

/// <summary>
/// A leaky bucket as a queue (nginx's <c>limit_req</c> without <c>nodelay</c>): requests leave one
/// every <c>ReplenishmentPeriod / PermitsPerPeriod</c>, so bursts are smoothed completely. A request that finds
/// the last departure at least one interval ago passes at once; otherwise it waits in a queue of
/// at most <see cref="LeakyBucketLimiterOptions.QueueLimit"/> and leaves at its turn. A full queue
/// refuses at once with <c>RetryAfter</c> = the time until the head leaves and frees a place. A
/// waiter whose cancellation token fires leaves the queue and the ones behind it move up, so it
/// takes no slot from the schedule. Each request is one permit. The drain timer exists only while
/// someone waits.
/// </summary>
public sealed class LeakyBucketLimiter : ClockedRateLimiter
{
    private readonly long _interval;
    private readonly int _queueLimit;
    private readonly LinkedList<Waiter> _queue = new();
    private long _lastDeparture;
    private ITimer? _timer;

    /// <summary>Creates the limiter.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public LeakyBucketLimiter(LeakyBucketLimiterOptions options, TimeProvider? timeProvider = null)
        : base(1, timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        // Rounded up, so the limiter never lets requests through faster than configured.
        _interval = (options.ReplenishmentPeriod.Ticks + options.PermitsPerPeriod - 1) / options.PermitsPerPeriod;
        _queueLimit = options.QueueLimit;
        _lastDeparture = -_interval;
    }

    /// <inheritdoc />
    private protected override int QueuedCount => _queue.Count;

    /// <summary>Passes at once when the request's turn is now; otherwise refuses (it cannot wait) with the time its turn would come.</summary>
    private protected override long TryAdmit(long now, int permits)
    {
        long nextTurn = _lastDeparture + ((_queue.Count + 1) * _interval);
        if (_queue.Count == 0 && now >= _lastDeparture + _interval)
        {
            _lastDeparture = now;
            return 0;
        }

        return Math.Max(1, nextTurn - now);
    }

    /// <inheritdoc />
    private protected override long AvailablePermits(long now) => _queue.Count == 0 && now >= _lastDeparture + _interval ? 1 : 0;

    /// <inheritdoc />
    private protected override TimeSpan? IdleFor(long now) =>
        _queue.Count == 0 ? TimeSpan.FromTicks(now - (_lastDeparture + _interval)) : null;

    /// <summary>Passes at once, waits in the queue for its turn, or is refused at once when the queue is full.</summary>
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, 1);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<RateLimitLease>(cancellationToken);
        }

        lock (Gate)
        {
            // Checked again under the lock: Dispose marks the limiter disposed before it empties
            // the queue under this lock, so a request either joins before the queue is emptied
            // (and is answered by Dispose) or sees the mark here; none is left waiting.
            ThrowIfDisposed();
            long now = Now();
            bool free = _queue.Count == 0 && now >= _lastDeparture + _interval;
            if (permitCount == 0)
            {
                // Only asks whether a permit would pass now; it neither takes a turn nor joins the queue.
                return new ValueTask<RateLimitLease>(free
                    ? RateLimitedLease.Granted
                    : RateLimitedLease.Refused(TimeSpan.FromTicks(Math.Max(1, _lastDeparture + ((_queue.Count + 1) * _interval) - now))));
            }

            if (free)
            {
                _lastDeparture = now;
                Count(admitted: true);
                return new ValueTask<RateLimitLease>(RateLimitedLease.Granted);
            }

            if (_queue.Count >= _queueLimit)
            {
                Count(admitted: false);
                return new ValueTask<RateLimitLease>(
                    RateLimitedLease.Refused(TimeSpan.FromTicks(Math.Max(1, _lastDeparture + _interval - now))));
            }

            var waiter = new Waiter();
            waiter.Node = _queue.AddLast(waiter);
            if (cancellationToken.CanBeCanceled)
            {
                waiter.Cancellation = cancellationToken.UnsafeRegister(
                    static (state, token) => ((LeakyBucketLimiter)((object[])state!)[0]).Cancel((Waiter)((object[])state!)[1], token),
                    new object[] { this, waiter });
            }

            if (_queue.Count == 1)
            {
                ScheduleDrain(now);
            }

            return new ValueTask<RateLimitLease>(waiter.Completion.Task);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        List<Waiter> waiting;
        lock (Gate)
        {
            waiting = [.. _queue];
            _queue.Clear();
            _timer?.Dispose();
            _timer = null;
        }

        foreach (Waiter waiter in waiting)
        {
            waiter.Cancellation.Dispose();
            waiter.Completion.TrySetResult(RateLimitedLease.Refused(TimeSpan.FromTicks(_interval)));
        }
    }

    private void ScheduleDrain(long now)
    {
        long due = Math.Max(0, _lastDeparture + _interval - now);
        _timer ??= TimeProvider.CreateTimer(static state => ((LeakyBucketLimiter)state!).Drain(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timer.Change(TimeSpan.FromTicks(due), Timeout.InfiniteTimeSpan);
    }

    private void Drain()
    {
        List<Waiter>? leaving = null;
        lock (Gate)
        {
            // Each waiter leaves at its turn, one interval after the one before it, not when the timer
            // happens to fire: a late timer must not slow the rate, so every waiter whose turn has come
            // leaves now, and the schedule stays where it was. After Dispose the queue is empty.
            long now = Now();
            while (_queue.First is { } head && now >= _lastDeparture + _interval)
            {
                _queue.RemoveFirst();
                _lastDeparture += _interval;
                (leaving ??= []).Add(head.Value);
            }

            if (_queue.Count > 0)
            {
                ScheduleDrain(now);
            }
        }

        foreach (Waiter waiter in leaving ?? [])
        {
            waiter.Cancellation.Dispose();
            Count(admitted: true);
            waiter.Completion.TrySetResult(RateLimitedLease.Granted);
        }
    }

    private void Cancel(Waiter waiter, CancellationToken token)
    {
        lock (Gate)
        {
            if (waiter.Node?.List is null)
            {
                return;
            }

            _queue.Remove(waiter.Node);
        }

        waiter.Completion.TrySetCanceled(token);
    }

    private sealed class Waiter
    {
        public TaskCompletionSource<RateLimitLease> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public CancellationTokenRegistration Cancellation { get; set; }
    }
}
