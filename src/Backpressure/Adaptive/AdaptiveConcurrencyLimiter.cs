using System.Threading.RateLimiting;

namespace Backpressure.Adaptive;

/// <summary>
/// A non-blocking concurrency limit whose limit a <see cref="ConcurrencyLimitAlgorithm"/> moves
/// from the latency of completed permits: full → refused at once with a <c>RetryAfter</c>, never
/// queued. It is the enforcement half of Netflix's <c>Limit</c>/<c>Limiter</c> split, as a
/// <see cref="RateLimiter"/>, so ASP.NET Core, Polly and anything that takes a <see cref="RateLimiter"/> can use it.
/// </summary>
/// <remarks>
/// <para>
/// Acquiring is one atomic add on a word that holds the permits in flight, checked against the
/// current limit and taken back when it overshoots: concurrent acquires never exceed the limit
/// (Netflix's issue #234 and Envoy's load-then-increment both can). A refusal allocates nothing (a
/// cached lease); a grant allocates its lease. A permit is returned exactly once, whichever of
/// dispose, exception or cancellation comes first.
/// </para>
/// <para>
/// Returning a timed permit hands a <see cref="ConcurrencySample"/> to the algorithm under a lock, so
/// algorithms are single-threaded. At most <see cref="AdaptiveConcurrencyLimiterOptions.MaxSamplesPerSecond"/>
/// permits a second are timed; above that, every <c>k</c>-th grant is, chosen by its sequence number
/// in the same word, so the clock is read rarely when the work is fast and every time when it is slow.
/// A lowered limit takes no permits back: work in flight finishes, and new work waits until in-flight falls below it.
/// </para>
/// <para>
/// <b>Pacing</b> (<see cref="AdaptiveConcurrencyLimiterOptions.PacingGain"/>, off by default): above half the
/// limit, a grant must also come at least the mean latency over the gain times the limit after the previous
/// paced grant. A limit reached in one instant otherwise admits a cluster of work together; on a saturated processor
/// its CPU-bound steps then queue behind one another, and requests queue for a thread before they reach any
/// limiter, where no latency this limiter measures can see them (docs/benchmarks.md measures the server with and without it).
/// </para>
/// <para>
/// <b>RetryAfter.</b> A refusal says how long until the next permit is expected back: the smoothed
/// latency of timed permits divided by the permits in flight, since with <c>n</c> permits of mean
/// hold <c>H</c> in flight one ends about every <c>H / n</c>.
/// </para>
/// </remarks>
public sealed class AdaptiveConcurrencyLimiter : RateLimiter
{
    private const long InFlightMask = 0xFFFF_FFFF;
    private const long OneRelease = 1L << 32;
    private const long NotSampled = long.MinValue;
    private const int MaxSampleStride = 1024;

    private readonly ConcurrencyLimitAlgorithm _algorithm;
    private readonly int _maxPermits;
    private readonly TimeProvider _timeProvider;
    private readonly long _origin;
    private readonly double _ticksPerTimestamp;
    private readonly double _maxSamplesPerTimestamp;
    private readonly double _pacingGain;
    private readonly RefusedLease _refusedLease;
    private readonly Lock _sync = new();

    // Low 32 bits: permits in flight. High 32 bits: leases returned, wrapping; _releaseWraps counts
    // the wraps. One word, so that a release is one atomic add and a grant knows its sequence number.
    private PaddedLong _state;
    private PaddedLong _refused;
    private PaddedLong _lastPacedGrant;
    private long _releaseWraps;
    private int _limit;
    private int _sampleMask;
    private long _meanLatency;
    private double _meanSampleGap;
    private long _lastSampledAt;
    private long _lastActivity;
    private int _disposed;
    private Action? _permitReturned;

    /// <summary>Creates a limiter enforcing what <paramref name="algorithm"/> computes.</summary>
    /// <param name="algorithm">The limit algorithm; this limiter becomes its only caller.</param>
    /// <param name="options">Enforcement options; null for the defaults. Validated here.</param>
    /// <param name="timeProvider">The clock for latencies; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public AdaptiveConcurrencyLimiter(
        ConcurrencyLimitAlgorithm algorithm, AdaptiveConcurrencyLimiterOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        options ??= new AdaptiveConcurrencyLimiterOptions();
        options.Validate();
        _algorithm = algorithm;
        _maxPermits = algorithm.MaxLimit;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _origin = _timeProvider.GetTimestamp();
        _lastActivity = _origin;
        _lastSampledAt = _origin;
        _ticksPerTimestamp = (double)TimeSpan.TicksPerSecond / _timeProvider.TimestampFrequency;
        _maxSamplesPerTimestamp = options.MaxSamplesPerSecond / (double)_timeProvider.TimestampFrequency;
        _pacingGain = options.PacingGain;
        // An hour before the start: the first paced grant is due at once, whatever the spacing.
        _lastPacedGrant.Value = _origin - (long)_timeProvider.TimestampFrequency * 3600;
        _meanLatency = Math.Max(1, (long)(options.InitialLatencyEstimate.Ticks / _ticksPerTimestamp));
        _limit = Math.Max(1, algorithm.Limit);
        _refusedLease = new RefusedLease(() => RetryAfter);
    }

    /// <summary>The current limit: the most permits that may be in flight now, at least 1.</summary>
    public int Limit => Volatile.Read(ref _limit);

    /// <summary>Permits held right now. May exceed <see cref="Limit"/> for a while after the limit is lowered.</summary>
    public int InFlight => (int)(Volatile.Read(ref _state.Value) & InFlightMask);

    /// <summary>The smoothed latency of timed permits (an exponentially weighted mean, weight 1/8), or the initial estimate.</summary>
    public TimeSpan MeanLatency => TimeSpan.FromTicks((long)(Volatile.Read(ref _meanLatency) * _ticksPerTimestamp));

    /// <summary>How long until a permit is expected back, as a refused lease would report it now (see the type's remarks).</summary>
    public TimeSpan RetryAfter => MeanLatency / Math.Max(1, InFlight);

    /// <summary>How long nothing has been in flight, or null while something is; measured from the last timed grant or return.</summary>
    public override TimeSpan? IdleDuration => InFlight == 0
        ? _timeProvider.GetElapsedTime(Volatile.Read(ref _lastActivity))
        : null;

    /// <summary>
    /// Marks the work that holds <paramref name="lease"/> as failed or timed out, so that its sample
    /// reaches the algorithm as dropped (its latency is no measure of the service). Call it before the
    /// lease is disposed (a lease handed out by a waiting room in front of this limiter counts as this limiter's); it does nothing for a lease of another limiter or one already returned.
    /// </summary>
    public static void MarkDropped(RateLimitLease lease)
    {
        if (lease is Admission.AdmittedLease admitted)
        {
            lease = admitted.Inner;
        }

        if (lease is GrantedLease granted)
        {
            granted.Dropped = true;
        }
    }

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics()
    {
        long wraps = Volatile.Read(ref _releaseWraps);
        long state = Volatile.Read(ref _state.Value);
        int inFlight = (int)(state & InFlightMask);
        long returned = (wraps << 32) | (long)((ulong)state >> 32);
        int limit = Limit;
        return new AdaptiveConcurrencyStatistics
        {
            InFlight = inFlight,
            Limit = limit,
            CurrentAvailablePermits = Math.Max(0, limit - inFlight),
            CurrentQueuedCount = 0,
            TotalSuccessfulLeases = returned + inFlight,
            TotalFailedLeases = Volatile.Read(ref _refused.Value),
            MeanLatency = MeanLatency,
        };
    }

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // More than the algorithm can ever allow would be refused for ever; say so instead, as the base library's limiters do.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, _maxPermits);
        if (permitCount == 0)
        {
            return InFlight < Limit ? EmptyLease.Instance : _refusedLease;
        }

        long after = Interlocked.Add(ref _state.Value, permitCount);
        int inFlight = (int)(after & InFlightMask);
        int limit = Volatile.Read(ref _limit);
        if (inFlight > limit)
        {
            return Refuse(permitCount);
        }

        long pacedAt = NotSampled;
        if (_pacingGain > 0 && inFlight * 2L > limit)
        {
            pacedAt = TakePacedSlot(permitCount, limit);
            if (pacedAt == NotSampled)
            {
                return Refuse(permitCount);
            }
        }

        // Grants so far (returned + in flight) number the grants, so sampling needs no counter of its own.
        long sequence = ((long)((ulong)after >> 32)) + inFlight;
        long start = (sequence & Volatile.Read(ref _sampleMask)) != 0 ? NotSampled
            : pacedAt != NotSampled ? pacedAt : _timeProvider.GetTimestamp();
        return new GrantedLease(this, permitCount, inFlight, start);
    }

    private RefusedLease Refuse(int permitCount)
    {
        Interlocked.Add(ref _state.Value, -permitCount);
        Interlocked.Increment(ref _refused.Value);
        return _refusedLease;
    }

    // A grant is due a spacing after the previous paced grant (the generic cell rate algorithm with no
    // burst allowance: the burst is the half of the limit that is never paced). Not the base library's
    // TokenBucketRateLimiter chained in front: its rate is fixed at creation, where this one follows the
    // limit and the mean latency, and it would take tokens from light load too. The spacing is computed
    // now rather than when the previous grant set a due time, so it follows the mean latency as soon as
    // samples move it: from cold, the initial estimate would otherwise hold fast work back for a while.
    // Returns the clock's reading when the grant is due, so a timed grant need not read it again, and
    // NotSampled when it is not.
    private long TakePacedSlot(int permitCount, int limit)
    {
        long now = _timeProvider.GetTimestamp();
        long spacing = (long)(Volatile.Read(ref _meanLatency) * (double)permitCount / (limit * _pacingGain));
        while (true)
        {
            long previous = Volatile.Read(ref _lastPacedGrant.Value);
            if (now - previous < spacing)
            {
                return NotSampled;
            }

            if (Interlocked.CompareExchange(ref _lastPacedGrant.Value, now, previous) == previous)
            {
                return now;
            }
        }
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

    /// <summary>
    /// Calls <paramref name="callback"/> after every permit returned, so that a waiting room in front of this limiter can
    /// hand its own leases out unwrapped (a wrapper that reports the return costs an allocation and a call per admission).
    /// Call before any permit is handed out.
    /// </summary>
    internal void NotifyOnPermitReturned(Action callback) => _permitReturned += callback;

    private void Release(GrantedLease lease)
    {
        if (lease.Start != NotSampled)
        {
            Sample(lease);
        }

        long after = Interlocked.Add(ref _state.Value, OneRelease - lease.Permits);
        if ((ulong)after >> 32 == 0)
        {
            Interlocked.Increment(ref _releaseWraps);
        }

        _permitReturned?.Invoke();
    }

    private void Sample(GrantedLease lease)
    {
        long now = _timeProvider.GetTimestamp();
        long latency = Math.Max(0, now - lease.Start);
        lock (_sync)
        {
            int stride = _sampleMask + 1;
            var sample = new ConcurrencySample(
                TimeSpan.FromTicks((long)((now - _origin) * _ticksPerTimestamp)),
                TimeSpan.FromTicks((long)(latency * _ticksPerTimestamp)),
                lease.InFlight,
                lease.Dropped,
                stride);
            Volatile.Write(ref _limit, Math.Max(1, _algorithm.Update(sample)));
            if (!lease.Dropped)
            {
                long mean = _meanLatency;
                _meanLatency = Math.Max(1, mean + ((latency - mean) >> 3));
            }

            AdjustStride(now, stride);
            Volatile.Write(ref _lastActivity, now);
        }
    }

    // Keeps the timed permits near MaxSamplesPerSecond: halves the stride when they fall under a
    // quarter of it, doubles it when they exceed it.
    private void AdjustStride(long now, int stride)
    {
        double gap = Math.Max(0, now - _lastSampledAt);
        _lastSampledAt = now;
        _meanSampleGap = _meanSampleGap == 0 ? gap : _meanSampleGap + ((gap - _meanSampleGap) / 16);
        double timedPerTimestamp = 1 / Math.Max(_meanSampleGap, 1e-9);
        if (timedPerTimestamp > _maxSamplesPerTimestamp && stride < MaxSampleStride)
        {
            _sampleMask = (stride * 2) - 1;
            _meanSampleGap *= 2;
        }
        else if (timedPerTimestamp < _maxSamplesPerTimestamp / 4 && stride > 1)
        {
            _sampleMask = (stride / 2) - 1;
            _meanSampleGap /= 2;
        }
    }

    private sealed class GrantedLease(AdaptiveConcurrencyLimiter limiter, int permits, int inFlight, long start) : RateLimitLease
    {
        private int _released;

        public int Permits => permits;

        public int InFlight => inFlight;

        public long Start => start;

        public bool Dropped { get; set; }

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
                limiter.Release(this);
            }

            base.Dispose(disposing);
        }
    }
}
