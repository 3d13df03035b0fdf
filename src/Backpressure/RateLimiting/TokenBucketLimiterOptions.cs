namespace Backpressure.RateLimiting;

/// <summary>Options for <see cref="TokenBucketLimiter"/>.</summary>
public sealed class TokenBucketLimiterOptions
{
    /// <summary>The bucket's size: the longest burst admitted at once. The bucket starts full. Must be greater than zero.</summary>
    public int TokenLimit { get; set; }

    /// <summary>Tokens added per <see cref="ReplenishmentPeriod"/>, continuously rather than in steps. Must be greater than zero.</summary>
    public int TokensPerPeriod { get; set; }

    /// <summary>The period <see cref="TokensPerPeriod"/> refers to. Must be greater than zero. Default: 1 second.</summary>
    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property out of range.</summary>
    public void Validate()
    {
        OptionChecks.Positive(TokenLimit, nameof(TokenLimit));
        OptionChecks.Positive(TokensPerPeriod, nameof(TokensPerPeriod));
        OptionChecks.Positive(ReplenishmentPeriod, nameof(ReplenishmentPeriod));

        // The bucket counts in ticks of credit (a token is a period's worth), so a full bucket is TokenLimit periods of
        // ticks: past long's range it would throw when the first partition is created, under traffic, rather than here.
        if (ReplenishmentPeriod.Ticks > long.MaxValue / TokenLimit)
        {
            throw new ArgumentException(
                $"{nameof(TokenLimit)} × {nameof(ReplenishmentPeriod)} must be at most {TimeSpan.MaxValue.TotalDays:F0} days (was {TokenLimit} × {ReplenishmentPeriod}).",
                nameof(ReplenishmentPeriod));
        }
    }
}
