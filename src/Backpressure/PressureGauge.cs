using System.Threading.RateLimiting;

namespace Backpressure;

/// <summary>
/// A non-blocking concurrency limit: at most <see cref="PressureGaugeOptions.PermitLimit"/>
/// permits are in flight at once, and a caller that finds the gauge full is refused at once —
/// never queued. This is Go's buffered-channel <c>PressureGauge</c> as a
/// <see cref="RateLimiter"/>, so anything that takes a <see cref="RateLimiter"/> (ASP.NET Core's
/// rate-limiting middleware, Polly) can use it.
/// </summary>
/// <remarks>
/// <para>
/// Acquire and release are one <see cref="Interlocked"/> operation each on a word of their own
/// cache line, like a bare counter. Acquiring adds optimistically and takes the permits back when
/// that overshoots the limit, so more than the limit are never admitted; the price is that a
/// caller racing such an overshoot may be refused although a permit was free for that instant.
/// A refused attempt allocates nothing: it returns a lease cached by the gauge. A granted permit is
/// returned exactly once, whichever of dispose, exception or cancellation comes first; disposing a
/// lease twice is harmless.
/// </para>
/// <para>
/// <b>RetryAfter.</b> Every refused lease carries <see cref="MetadataName.RetryAfter"/>, computed
/// when it is read as an estimate of when the first permit in flight is returned. The gauge times
/// one permit in <see cref="PressureGaugeOptions.HoldTimeSampleInterval"/> it grants (its first
/// is always timed) and keeps <c>H</c>, an exponentially weighted mean (weight 1/8) of those hold times, starting
/// from <see cref="PressureGaugeOptions.InitialHoldTimeEstimate"/>. With <c>A</c> the mean age of
/// the timed permits still in flight, the estimate is <c>H − A</c>: the oldest permit in flight is
/// at least <c>A</c> old, so on a typical hold time it is returned by then. The estimate is never
/// below <c>H / (PermitLimit + 1)</c> (when permits of random age are in flight, the first of them
/// ends after about that long) and never above <c>H</c>. Before any timed permit has been returned,
/// <c>H</c> is only the initial guess; when the permits in flight outlive it (<c>A ≥ H</c>) the
/// estimate is <c>A</c> instead (steadily turning over permits of hold <c>2A</c> have a mean age of <c>A</c>).
/// </para>
/// </remarks>
public sealed class PressureGauge : RateLimiter
{
    private const long InFlightMask = 0xFFFF_FFFF;
    private const long OneRelease = 1L << 32;
    private const long NotSampled = long.MinValue;
    private const int HoldSmoothingShift = 3;

    private readonly int _permitLimit;
    private readonly TimeProvider _timeProvider;
    private readonly long _origin;
    private readonly long _initialHoldTicks;
    private readonly uint _sampleMask;
    private readonly RefusedLease _refusedLease;

    // Low 32 bits: permits in flight. High 32 bits: leases returned, wrapping; _releaseWraps
    // counts the wraps. One word so that a release is a single atomic add.
    private PaddedLong _state;
    private PaddedLong _refused;
    private long _releaseWraps;
    private long _extraPermitsInFlight;
    private long _meanHoldTicks;
    private long _sampledStartSum;
    private int _sampledInFlight;
    private long _lastSampledActivity;
    private int _disposed;

    /// <summary>Creates a gauge.</summary>
    /// <param name="options">The limit; validated here.</param>
    /// <param name="timeProvider">The clock for hold times and <see cref="IdleDuration"/>; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public PressureGauge(PressureGaugeOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _permitLimit = options.PermitLimit;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _origin = _timeProvider.GetTimestamp();
        _lastSampledActivity = _origin;
        _initialHoldTicks = Math.Max(1, (long)(options.InitialHoldTimeEstimate.Ticks
            * (double)_timeProvider.TimestampFrequency / TimeSpan.TicksPerSecond));
        _sampleMask = (uint)options.HoldTimeSampleInterval - 1;
        _refusedLease = new RefusedLease(() => RetryAfter);
    }

    /// <summary>The configured most permits in flight.</summary>
    public int PermitLimit => _permitLimit;

    /// <summary>Permits held right now, between 0 and <see cref="PermitLimit"/>.</summary>
    public int InFlight => ReadInFlight(Volatile.Read(ref _state.Value));

    /// <summary>
    /// The current estimate of how long until a permit is returned (see the type's remarks),
    /// as a refused lease would report it now.
    /// </summary>
    public TimeSpan RetryAfter => _timeProvider.GetElapsedTime(0, EstimateRetryAfterTicks());

    /// <summary>The mean time a permit is held, from sampled grants (the initial estimate until the first is timed).</summary>
    public TimeSpan MeanHoldTime => _timeProvider.GetElapsedTime(0, MeanHoldTicks());

    /// <summary>
    /// How long the gauge has had nothing in flight, or null while it has. Measured from the last
    /// timed acquire or release, so it may read a few admissions early; a partitioned limiter
    /// that retires an idle gauge on this loses only its counters.
    /// </summary>
    public override TimeSpan? IdleDuration => InFlight == 0
        ? _timeProvider.GetElapsedTime(Volatile.Read(ref _lastSampledActivity))
        : null;

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics()
    {
        long wraps = Volatile.Read(ref _releaseWraps);
        long state = Volatile.Read(ref _state.Value);
        int inFlight = ReadInFlight(state);
        long returned = (wraps << 32) | (long)((ulong)state >> 32);
        long leasesInFlight = Math.Max(0, inFlight - Volatile.Read(ref _extraPermitsInFlight));
        return new PressureGaugeStatistics
        {
            InFlight = inFlight,
            PermitLimit = _permitLimit,
            CurrentAvailablePermits = _permitLimit - inFlight,
            CurrentQueuedCount = 0,
            TotalSuccessfulLeases = returned + leasesInFlight,
            TotalFailedLeases = Volatile.Read(ref _refused.Value),
            MeanHoldTime = _timeProvider.GetElapsedTime(0, MeanHoldTicks()),
        };
    }

    /// <summary>
    /// Runs <paramref name="work"/> if a permit is free, returning it when the work ends (also by
    /// exception). Returns false at once, without running the work, when the gauge is full.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The gauge was disposed.</exception>
    public bool TryProcess(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!TryEnter(1, out long sampleStart))
        {
            return false;
        }

        try
        {
            work();
        }
        finally
        {
            Release(1, sampleStart);
        }

        return true;
    }

    /// <summary>
    /// Runs <paramref name="work"/> if a permit is free, returning it when the work completes,
    /// faults or is cancelled. Completes synchronously with false, without running the work,
    /// when the gauge is full.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The gauge was disposed.</exception>
    public ValueTask<bool> TryProcessAsync(Func<CancellationToken, ValueTask> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return TryEnter(1, out long sampleStart)
            ? RunHoldingPermitAsync(work, sampleStart, cancellationToken)
            : new ValueTask<bool>(false);
    }

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, _permitLimit);
        if (permitCount == 0)
        {
            // A zero-permit request only asks whether the gauge has room; it takes nothing.
            return InFlight < _permitLimit ? EmptyLease.Instance : _refusedLease;
        }

        return TryEnter(permitCount, out long sampleStart)
            ? new GrantedLease(this, permitCount, sampleStart)
            : _refusedLease;
    }

    /// <summary>Never waits: the answer is the same as <see cref="RateLimiter.AttemptAcquire(int)"/>'s.</summary>
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<RateLimitLease>(cancellationToken);
        }

        return new ValueTask<RateLimitLease>(AttemptAcquireCore(permitCount));
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        Volatile.Write(ref _disposed, 1);
        base.Dispose(disposing);
    }

    private async ValueTask<bool> RunHoldingPermitAsync(
        Func<CancellationToken, ValueTask> work, long sampleStart, CancellationToken cancellationToken)
    {
        try
        {
            await work(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Release(1, sampleStart);
        }

        return true;
    }

    private static int ReadInFlight(long state) => (int)(state & InFlightMask);

    private bool TryEnter(int permits, out long sampleStart)
    {
        long after = Interlocked.Add(ref _state.Value, permits);
        if (ReadInFlight(after) > _permitLimit)
        {
            Interlocked.Add(ref _state.Value, -permits);
            Interlocked.Increment(ref _refused.Value);
            sampleStart = NotSampled;
            return false;
        }

        if (permits > 1)
        {
            Interlocked.Add(ref _extraPermitsInFlight, permits - 1);
        }

        // The grant's sequence number is in the word the add returned: leases returned plus permits in
        // flight grows by one per single-permit grant and is unchanged by a release. So each gauge samples
        // its own grants, and a thread alternating between two gauges cannot starve one of samples (a
        // counter per thread, shared by every gauge, did). Refused overshoots may repeat or skip a number
        // for a moment, which only moves which grant is timed.
        uint sequence = (uint)((ulong)after >> 32) + (uint)ReadInFlight(after);
        sampleStart = (sequence & _sampleMask) == (1 & _sampleMask) ? StartSample() : NotSampled;
        return true;
    }

    private void Release(int permits, long sampleStart)
    {
        if (sampleStart != NotSampled)
        {
            EndSample(sampleStart);
        }

        if (permits > 1)
        {
            Interlocked.Add(ref _extraPermitsInFlight, 1 - permits);
        }

        // Permits in flight never fall below this lease's own, so the subtraction never borrows
        // from the count of returned leases in the high half.
        long after = Interlocked.Add(ref _state.Value, OneRelease - permits);
        if ((ulong)after >> 32 == 0)
        {
            Interlocked.Increment(ref _releaseWraps);
        }
    }

    private long StartSample()
    {
        long now = _timeProvider.GetTimestamp();
        Interlocked.Add(ref _sampledStartSum, now - _origin);
        Interlocked.Increment(ref _sampledInFlight);
        Volatile.Write(ref _lastSampledActivity, now);
        return now;
    }

    private void EndSample(long start)
    {
        long now = _timeProvider.GetTimestamp();
        Interlocked.Decrement(ref _sampledInFlight);
        Interlocked.Add(ref _sampledStartSum, -(start - _origin));
        long hold = Math.Max(1, now - start);
        long mean = Volatile.Read(ref _meanHoldTicks);

        // Two releases racing here may lose one sample of the mean; that is harmless for a
        // smoothed estimate, and a lock would serialise every timed release.
        Volatile.Write(ref _meanHoldTicks, mean == 0 ? hold : mean + ((hold - mean) >> HoldSmoothingShift));
        Volatile.Write(ref _lastSampledActivity, now);
    }

    private long MeanHoldTicks()
    {
        long mean = Volatile.Read(ref _meanHoldTicks);
        return mean == 0 ? _initialHoldTicks : mean;
    }

    private long EstimateRetryAfterTicks()
    {
        long hold = MeanHoldTicks();
        long floor = hold / (_permitLimit + 1L);
        int sampled = Volatile.Read(ref _sampledInFlight);
        long sum = Volatile.Read(ref _sampledStartSum);
        if (sampled <= 0)
        {
            return floor;
        }

        // The count and the sum are read apart, so they may disagree for a moment; the clamp
        // keeps such a torn read inside the honest range.
        long meanAge = Math.Max(0, _timeProvider.GetTimestamp() - (_origin + (sum / sampled)));
        if (meanAge >= hold && Volatile.Read(ref _meanHoldTicks) == 0)
        {
            // No timed permit has come back yet, and those in flight have outlived the initial guess:
            // the guess is proven wrong (a fresh gauge in front of work slower than it). Permits turning
            // over steadily have a mean age of half their hold time, so 2A is the hold the evidence
            // supports, and A of it is left. Saying the floor here would send every refused caller back
            // to be refused again. Once hold times have been observed, a permit outliving them is an
            // outlier, and the floor (the mean gap between releases) stays the honest answer.
            return meanAge;
        }

        return Math.Clamp(hold - meanAge, floor, hold);
    }

    private sealed class GrantedLease(PressureGauge gauge, int permits, long sampleStart) : RateLimitLease
    {
        private int _released;

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gauge.Release(permits, sampleStart);
            }

            base.Dispose(disposing);
        }
    }
}
