using System.Threading.RateLimiting;

namespace Backpressure.Adaptive;

/// <summary>
/// A snapshot of an <see cref="AdaptiveConcurrencyLimiter"/>. <see cref="RateLimiterStatistics.TotalSuccessfulLeases"/>
/// counts grants and <see cref="RateLimiterStatistics.TotalFailedLeases"/> refusals, as for every limiter.
/// </summary>
public sealed class AdaptiveConcurrencyStatistics : RateLimiterStatistics
{
    /// <summary>Permits held right now.</summary>
    public long InFlight { get; init; }

    /// <summary>The limit at the time of the snapshot.</summary>
    public int Limit { get; init; }

    /// <summary>The smoothed latency of timed permits.</summary>
    public TimeSpan MeanLatency { get; init; }
}
