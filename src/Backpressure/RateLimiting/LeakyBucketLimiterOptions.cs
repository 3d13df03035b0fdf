namespace Backpressure.RateLimiting;

/// <summary>Options for <see cref="LeakyBucketLimiter"/>.</summary>
public sealed class LeakyBucketLimiterOptions
{
    /// <summary>Requests let through per <see cref="Period"/>, evenly spaced. Must be greater than zero.</summary>
    public int PermitsPerPeriod { get; set; }

    /// <summary>The period <see cref="PermitsPerPeriod"/> refers to. Must be greater than zero. Default: 1 second.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests that may wait for their turn (nginx's <c>burst</c>); more are refused at once. Zero or more. Default: 0.</summary>
    public int QueueLimit { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property out of range.</summary>
    public void Validate()
    {
        OptionChecks.Positive(PermitsPerPeriod, nameof(PermitsPerPeriod));
        OptionChecks.Positive(Period, nameof(Period));
        OptionChecks.NotNegative(QueueLimit, nameof(QueueLimit));
        if (Period.Ticks < PermitsPerPeriod)
        {
            throw new ArgumentException($"{nameof(Period)} must be at least one tick per permit (was {Period} for {PermitsPerPeriod}).", nameof(Period));
        }
    }
}
