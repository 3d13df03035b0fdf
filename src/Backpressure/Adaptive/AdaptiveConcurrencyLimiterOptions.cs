namespace Backpressure.Adaptive;

/// <summary>
/// Options for <see cref="AdaptiveConcurrencyLimiter"/>'s enforcement (the limit itself comes from
/// its <see cref="ConcurrencyLimitAlgorithm"/>). Validated once, when the limiter is created.
/// </summary>
public sealed class AdaptiveConcurrencyLimiterOptions
{
    /// <summary>
    /// The most permits per second whose latency is timed and handed to the algorithm. Above this
    /// rate every <c>k</c>-th permit is timed (<c>k</c> a power of two, carried as the sample's
    /// <see cref="ConcurrencySample.Weight"/>), because reading the clock twice costs more than the
    /// acquire and release themselves. At least 1. Default: 4000. Use <see cref="int.MaxValue"/> to time every permit.
    /// </summary>
    public int MaxSamplesPerSecond { get; set; } = 4000;

    /// <summary>
    /// The latency assumed for a permit until one has been timed, used only for the
    /// <c>RetryAfter</c> of refusals and, with <see cref="PacingGain"/>, the spacing of grants. Greater than zero. Default: 1 second.
    /// </summary>
    public TimeSpan InitialLatencyEstimate { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Spaces grants out once more than half the limit is in flight: a grant is then due no sooner than
    /// <c>MeanLatency / (PacingGain × Limit)</c> after the one before it, this many times the rate at which
    /// the limit's permits turn over, so a steady flow is never held back while a cluster of arrivals is
    /// admitted one by one instead of all at once. Work whose first step is CPU then does not start its
    /// steps together and queue for the processor behind itself (BBR paces a connection's sends for the
    /// same reason). Below half the limit nothing is paced, so light load and its bursts are never refused
    /// while permits are free. A paced refusal is refused like any other, with the same <c>RetryAfter</c>.
    /// Off by default, since a concurrency limit that refuses while permits are free would surprise a caller
    /// that acquires in bursts on purpose; turn it on for work whose first step is CPU, as the reference server
    /// does for <c>/adaptive</c>. 0 (the default) for no pacing; otherwise at least 1 (below the turnover rate the
    /// limit could never fill) and at most 100.
    /// </summary>
    public double PacingGain { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (MaxSamplesPerSecond < 1)
        {
            throw new ArgumentException(
                $"{nameof(MaxSamplesPerSecond)} must be at least 1 (was {MaxSamplesPerSecond}).", nameof(MaxSamplesPerSecond));
        }

        if (InitialLatencyEstimate <= TimeSpan.Zero)
        {
            throw new ArgumentException(
                $"{nameof(InitialLatencyEstimate)} must be greater than zero (was {InitialLatencyEstimate}).", nameof(InitialLatencyEstimate));
        }

        if (!(PacingGain == 0 || (PacingGain >= 1 && PacingGain <= 100)))
        {
            throw new ArgumentException(
                $"{nameof(PacingGain)} must be 0 (no pacing) or between 1 and 100 (was {PacingGain}).", nameof(PacingGain));
        }
    }
}
