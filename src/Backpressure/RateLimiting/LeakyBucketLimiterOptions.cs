namespace Backpressure.RateLimiting;

/// <summary>Options for <see cref="LeakyBucketLimiter"/>.</summary>
public sealed class LeakyBucketLimiterOptions
{
    /// <summary>Requests let through per <see cref="ReplenishmentPeriod"/>, evenly spaced. Must be greater than zero.</summary>
    public int PermitsPerPeriod { get; set; }

    /// <summary>
    /// The period <see cref="PermitsPerPeriod"/> refers to: the time in which the bucket drains that many. Named as
    /// the token bucket's (and the base library's) period is, so siblings read alike. Must be greater than zero.
    /// Default: 1 second.
    /// </summary>
    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests that may wait for their turn (nginx's <c>burst</c>); more are refused at once. Zero or more. Default: 0.</summary>
    public int QueueLimit { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property out of range.</summary>
    public void Validate()
    {
        OptionChecks.Positive(PermitsPerPeriod, nameof(PermitsPerPeriod));
        OptionChecks.Positive(ReplenishmentPeriod, nameof(ReplenishmentPeriod));
        OptionChecks.NotNegative(QueueLimit, nameof(QueueLimit));
        if (ReplenishmentPeriod.Ticks < PermitsPerPeriod)
        {
            throw new ArgumentException($"{nameof(ReplenishmentPeriod)} must be at least one tick per permit (was {ReplenishmentPeriod} for {PermitsPerPeriod}).", nameof(ReplenishmentPeriod));
        }
    }
}
