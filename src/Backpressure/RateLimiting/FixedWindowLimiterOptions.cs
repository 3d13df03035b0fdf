namespace Backpressure.RateLimiting;

/// <summary>Options for <see cref="FixedWindowLimiter"/>.</summary>
public sealed class FixedWindowLimiterOptions
{
    /// <summary>Permits admitted per window. Must be greater than zero.</summary>
    public int PermitLimit { get; set; }

    /// <summary>The window's length; windows follow one another from the limiter's creation. Must be greater than zero. Default: 1 minute.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property out of range.</summary>
    public void Validate()
    {
        OptionChecks.Positive(PermitLimit, nameof(PermitLimit));
        OptionChecks.Positive(Window, nameof(Window));
    }
}
