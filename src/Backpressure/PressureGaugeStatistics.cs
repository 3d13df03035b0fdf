using System.Threading.RateLimiting;

namespace Backpressure;

/// <summary>
/// A snapshot of a <see cref="PressureGauge"/>. The base counters keep their meaning:
/// <see cref="RateLimiterStatistics.TotalSuccessfulLeases"/> counts accepted acquisitions and
/// <see cref="RateLimiterStatistics.TotalFailedLeases"/> counts refusals.
/// </summary>
public sealed class PressureGaugeStatistics : RateLimiterStatistics
{
    /// <summary>Permits held right now; never more than <see cref="PermitLimit"/>.</summary>
    public long InFlight { get; init; }

    /// <summary>The configured most permits in flight.</summary>
    public int PermitLimit { get; init; }

    /// <summary>Acquisitions that got a permit since the gauge was created.</summary>
    public long Accepted => TotalSuccessfulLeases;

    /// <summary>Acquisitions refused because the gauge was full, since it was created.</summary>
    public long Refused => TotalFailedLeases;

    /// <summary>
    /// The smoothed hold time of a permit (an exponentially weighted mean of sampled hold times),
    /// or the configured initial estimate until one has been observed.
    /// </summary>
    public TimeSpan MeanHoldTime { get; init; }
}
