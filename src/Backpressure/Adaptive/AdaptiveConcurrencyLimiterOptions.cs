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
    /// <c>RetryAfter</c> of refusals. Greater than zero. Default: 1 second.
    /// </summary>
    public TimeSpan InitialLatencyEstimate { get; set; } = TimeSpan.FromSeconds(1);

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
    }
}
