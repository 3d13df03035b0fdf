using System.Threading.RateLimiting;

namespace Backpressure.Server;

/// <summary>One pressure gauge's counters.</summary>
public sealed record GaugeSnapshot(long InFlight, int PermitLimit, long Accepted, long Refused, double RetryAfterSeconds)
{
    internal static GaugeSnapshot From(PressureGauge gauge)
    {
        var stats = (PressureGaugeStatistics)gauge.GetStatistics()!;
        return new(stats.InFlight, stats.PermitLimit, stats.Accepted, stats.Refused, gauge.RetryAfter.TotalSeconds);
    }
}
