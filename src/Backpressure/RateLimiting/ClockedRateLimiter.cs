using System.Threading.RateLimiting;

namespace Backpressure.RateLimiting;

/// <summary>
/// The base of Backpressure's rate limiters: the state is computed lazily from an injected
/// <see cref="TimeProvider"/> when a request arrives, so an idle limiter costs nothing (no timer
/// ticks for it), and every refusal carries <see cref="MetadataName.RetryAfter"/>: the exact time
/// after which the same request, with nothing else arriving, is admitted.
/// </summary>
/// <remarks>
/// The base library's window and token-bucket limiters replenish on timers from the system clock,
/// take no <see cref="TimeProvider"/>, and refuse with a <c>RetryAfter</c> of whole periods (or,
/// for the sliding window, none); these replace them where an honest <c>RetryAfter</c> and
/// deterministic tests matter. Requests never wait here: a refusal is immediate. Public so that its four
/// limiters share one documented base, but only this assembly derives from it: what derived types implement
/// is private protected, so it is no contract to keep for anyone else.
/// </remarks>
public abstract class ClockedRateLimiter : RateLimiter
{
    private readonly int _maxPermits;
    private long _admitted;
    private long _refused;
    private int _disposed;

    /// <summary>Creates the limiter.</summary>
    /// <param name="maxPermits">The most permits one request may ask for.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null.</param>
    private protected ClockedRateLimiter(int maxPermits, TimeProvider? timeProvider)
    {
        _maxPermits = maxPermits;
        TimeProvider = timeProvider ?? TimeProvider.System;
        Origin = TimeProvider.GetTimestamp();
    }

    /// <summary>The clock.</summary>
    private protected TimeProvider TimeProvider { get; }

    /// <summary>The timestamp the limiter was created at; schedules are measured from it.</summary>
    private protected long Origin { get; }

    /// <summary>Guards the algorithm's state.</summary>
    private protected Lock Gate { get; } = new();

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics()
    {
        lock (Gate)
        {
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = AvailablePermits(Now()),
                CurrentQueuedCount = QueuedCount,
                TotalSuccessfulLeases = Interlocked.Read(ref _admitted),
                TotalFailedLeases = Interlocked.Read(ref _refused),
            };
        }
    }

    /// <inheritdoc />
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (Gate)
            {
                TimeSpan? idle = IdleFor(Now());
                return idle is { } value && value >= TimeSpan.Zero ? value : null;
            }
        }
    }

    /// <summary>Ticks of <see cref="TimeSpan"/> since <see cref="Origin"/>.</summary>
    private protected long Now() => TimeProvider.GetElapsedTime(Origin).Ticks;

    /// <summary>
    /// Admits <paramref name="permits"/> at <paramref name="now"/> (ticks since the origin) and
    /// returns zero, or admits nothing and returns the ticks until the same request would be
    /// admitted. Called under <see cref="Gate"/>.
    /// </summary>
    private protected abstract long TryAdmit(long now, int permits);

    /// <summary>The permits a request could take at <paramref name="now"/>. Called under <see cref="Gate"/>.</summary>
    private protected abstract long AvailablePermits(long now);

    /// <summary>
    /// How long the state has been the same as a new limiter's at <paramref name="now"/>
    /// (negative or null while it is not). Called under <see cref="Gate"/>.
    /// </summary>
    private protected abstract TimeSpan? IdleFor(long now);

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, _maxPermits);
        lock (Gate)
        {
            long now = Now();
            if (permitCount == 0)
            {
                // With nothing available, asking for one permit refuses without changing the state.
                return AvailablePermits(now) > 0 ? RateLimitedLease.Granted : RateLimitedLease.Refused(TimeSpan.FromTicks(TryAdmit(now, 1)));
            }

            long wait = TryAdmit(now, permitCount);
            Count(admitted: wait <= 0);
            return wait <= 0 ? RateLimitedLease.Granted : RateLimitedLease.Refused(TimeSpan.FromTicks(wait));
        }
    }

    /// <summary>Never waits: the answer is the same as <see cref="RateLimiter.AttemptAcquire(int)"/>'s.</summary>
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested
            ? ValueTask.FromCanceled<RateLimitLease>(cancellationToken)
            : new ValueTask<RateLimitLease>(AttemptAcquireCore(permitCount));

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        Volatile.Write(ref _disposed, 1);
        base.Dispose(disposing);
    }

    /// <summary>Counts a decision made outside <see cref="AttemptAcquireCore"/> (by a limiter that queues).</summary>
    private protected void Count(bool admitted)
    {
        if (admitted)
        {
            Interlocked.Increment(ref _admitted);
        }
        else
        {
            Interlocked.Increment(ref _refused);
        }
    }

    /// <summary>Requests waiting in a queue, for limiters that have one. Called under <see cref="Gate"/>.</summary>
    private protected virtual int QueuedCount => 0;

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the limiter is disposed.</summary>
    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
