namespace Backpressure.RateLimiting;

/// <summary>Options for <see cref="SlidingWindowLimiter"/>.</summary>
public sealed class SlidingWindowLimiterOptions
{
    /// <summary>Permits admitted within any window's length (at segment granularity). Must be greater than zero.</summary>
    public int PermitLimit { get; set; }

    /// <summary>The window's length. Must be greater than zero. Default: 1 minute.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Segments the window slides by; more is smoother and costs a counter each. 1 to 1000. Default: 10.</summary>
    public int SegmentsPerWindow { get; set; } = 10;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property out of range.</summary>
    public void Validate()
    {
        OptionChecks.Positive(PermitLimit, nameof(PermitLimit));
        OptionChecks.Positive(Window, nameof(Window));
        if (SegmentsPerWindow is < 1 or > 1000)
        {
            throw new ArgumentException($"{nameof(SegmentsPerWindow)} must be from 1 to 1000 (was {SegmentsPerWindow}).", nameof(SegmentsPerWindow));
        }

        if (Window.Ticks < SegmentsPerWindow)
        {
            throw new ArgumentException($"{nameof(Window)} must be at least {SegmentsPerWindow} ticks, one per segment (was {Window}).", nameof(Window));
        }
    }
}
