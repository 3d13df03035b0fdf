using System.Threading.RateLimiting;
using Backpressure.Adaptive;

namespace Backpressure.Server;

/// <summary>One pressure gauge's or adaptive limit's counters; an adaptive limit's <see cref="PermitLimit"/> is its limit now.</summary>
public sealed record GaugeSnapshot(long InFlight, int PermitLimit, long Accepted, long Refused, double RetryAfterSeconds)
{
    internal static GaugeSnapshot From(PressureGauge gauge)
    {
        var stats = (PressureGaugeStatistics)gauge.GetStatistics()!;
        return new(stats.InFlight, stats.PermitLimit, stats.Accepted, stats.Refused, gauge.RetryAfter.TotalSeconds);
    }

    internal static GaugeSnapshot From(AdaptiveConcurrencyLimiter limiter)
    {
        var stats = (AdaptiveConcurrencyStatistics)limiter.GetStatistics()!;
        return new(stats.InFlight, stats.Limit, stats.TotalSuccessfulLeases, stats.TotalFailedLeases, limiter.RetryAfter.TotalSeconds);
    }
}
