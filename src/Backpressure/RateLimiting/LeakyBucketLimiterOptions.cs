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

        // Queued requests leave on a timer set one interval ahead, and a timer waits at most about 49.7 days: a longer
        // interval would throw when the first request queues, under traffic, and leave that client's requests hanging.
        if (ReplenishmentPeriod.Ticks / PermitsPerPeriod > MostInterval.Ticks)
        {
            throw new ArgumentException(
                $"{nameof(ReplenishmentPeriod)} / {nameof(PermitsPerPeriod)} must be at most {MostInterval.TotalDays:F0} days between permits, the longest a timer waits (was {ReplenishmentPeriod} for {PermitsPerPeriod}).",
                nameof(ReplenishmentPeriod));
        }
    }

    private static TimeSpan MostInterval => TimeSpan.FromDays(49);
}
