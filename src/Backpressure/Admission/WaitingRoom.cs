using System.Threading.RateLimiting;

namespace Backpressure.Admission;

/// <summary>
/// A waiting room in front of any <see cref="RateLimiter"/> (a gauge, an adaptive limit, a rate limit): it
/// decides who is shed and when. A request that finds the limit full may wait, bounded by time rather than
/// by count (CoDel with adaptive LIFO); the more critical are admitted first and shed last; a request whose
/// deadline cannot be met is refused at once; and under sustained overload an admission threshold over
/// (criticality, cohort) refuses the least important at once, the same users each time.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="PartitionedRateLimiter{TResource}.AttemptAcquire"/> never waits: it is admitted when the limit has
/// room and nobody as critical waits. <see cref="PartitionedRateLimiter{TResource}.AcquireAsync"/> waits. A
/// refusal is a cached lease (nothing allocated) carrying <see cref="MetadataName.RetryAfter"/>, the
/// <see cref="LimiterMetadata.ShedCriticality"/> of the request and the <see cref="LimiterMetadata.ShedReason"/>.
/// A lease granted is the limiter's, returned to it exactly once; returning it admits the next waiter.
/// </para>
/// <para>
/// The waiting room owns the limiter: disposing the room refuses whoever waits and disposes the limiter.
/// Time-bounded waits and the threshold's interval run on the <see cref="TimeProvider"/>'s timers.
/// </para>
/// </remarks>
/// <typeparam name="TResource">What a permit is asked for (an HTTP request, a gRPC call).</typeparam>
public sealed class WaitingRoom<TResource> : PartitionedRateLimiter<TResource>
{
    private readonly Func<TResource, AdmissionRequest> _describe;
    private readonly AdmissionQueue _queue;

    /// <summary>Creates a waiting room in front of <paramref name="limiter"/>.</summary>
    /// <param name="limiter">The limit admitted requests count against; the room becomes its owner.</param>
    /// <param name="describe">A request's priority and deadline.</param>
    /// <param name="options">The queue's bounds and discipline; null for the defaults. Validated here.</param>
    /// <param name="timeProvider">The clock and timers; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public WaitingRoom(
        RateLimiter limiter, Func<TResource, AdmissionRequest> describe, WaitingRoomOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        ArgumentNullException.ThrowIfNull(describe);
        options ??= new WaitingRoomOptions();
        options.Validate();
        _describe = describe;
        _queue = new AdmissionQueue(limiter, options, timeProvider ?? TimeProvider.System);
    }

    /// <summary>The limit behind the room.</summary>
    public RateLimiter Limiter => _queue.Limiter;

    /// <summary>Requests waiting now.</summary>
    public int QueuedCount => _queue.QueuedCount;

    /// <summary>The least important priority admitted now: requests that rank after it are shed at once.</summary>
    public AdmissionPriority Threshold => _queue.Threshold;

    /// <summary>Whether a standing queue exists now (the queue has not been empty for an interval), so the newest waiter is served first.</summary>
    public bool IsQueueStanding => _queue.IsStanding;

    /// <summary>The queueing delay target in force (the option, or the default scaled to the limiter's service time).</summary>
    public TimeSpan Target => _queue.Target;

    /// <summary>The interval in force.</summary>
    public TimeSpan Interval => _queue.Interval;

    /// <summary>What the room did with the requests of <paramref name="criticality"/> since it was created.</summary>
    public AdmissionCounts GetCounts(Criticality criticality) => _queue.Counts(criticality);

    /// <summary>How many requests of <paramref name="criticality"/> were shed for <paramref name="reason"/> since the room was created.</summary>
    public long GetShedCount(Criticality criticality, ShedReason reason) => _queue.ShedCount(criticality, reason);

    /// <summary>The room's statistics, whatever the resource: the limiter's free permits, the queue, and the totals.</summary>
    public override RateLimiterStatistics? GetStatistics(TResource resource) => _queue.Statistics();

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(TResource resource, int permitCount) =>
        _queue.AttemptAcquire(_describe(resource), permitCount);

    /// <inheritdoc />
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(TResource resource, int permitCount, CancellationToken cancellationToken) =>
        _queue.AcquireAsync(_describe(resource), permitCount, cancellationToken);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _queue.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected override ValueTask DisposeAsyncCore()
    {
        _queue.Dispose();
        return base.DisposeAsyncCore();
    }
}
