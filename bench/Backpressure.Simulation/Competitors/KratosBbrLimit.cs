using Backpressure.Adaptive;

namespace Backpressure.Simulation.Competitors;

/// <summary>
/// go-kratos' BBR limiter, reimplemented from <c>ratelimit/bbr/bbr.go</c> (go-kratos/aegis @e0742c6)
/// with its defaults: a 10 s window of 100 buckets, CPU threshold 800 ‰, the CPU reading an
/// exponential average with decay 0.95 refreshed every 500 ms (<c>internal/cpu/</c>). While the CPU
/// is at or over the threshold, or within 1 s of the last drop, it admits while in-flight is at most
/// <c>maxInFlight = ⌊maxPass·minRT·bucketsPerSecond/1000 + 0.5⌋</c> (peak completions per bucket times
/// the lowest per-bucket mean RT in whole milliseconds, rounded up); otherwise it admits everything.
/// </summary>
/// <remarks>
/// The source's "drop" is a refusal, which this seam does not see: the 1 s cool-down starts here at
/// the first sample, with the CPU over the threshold, that found in-flight at <c>maxInFlight</c>.
/// </remarks>
public sealed class KratosBbrLimit(Func<double> cpuUsage) : ConcurrencyLimitAlgorithm
{
    private const int Buckets = 100;
    private const double CpuThreshold = 800;
    private const double CpuDecay = 0.95;
    private const int Unlimited = 1_000_000;
    private static readonly long s_bucketTicks = TimeSpan.FromSeconds(10).Ticks / Buckets;
    private static readonly long s_cpuTicks = TimeSpan.FromMilliseconds(500).Ticks;

    private readonly long[] _bucketIndex = new long[Buckets];
    private readonly long[] _pass = new long[Buckets];
    private readonly long[] _rtSum = new long[Buckets];
    private double _cpu;
    private long _nextCpu;
    private long _prevDrop;
    private int _limit = Unlimited;

    /// <inheritdoc />
    public override int Limit => _limit;

    /// <inheritdoc />
    public override int Update(in ConcurrencySample sample)
    {
        long now = sample.CompletedAt.Ticks;
        while (now >= _nextCpu)
        {
            _cpu = (_cpu * CpuDecay) + (cpuUsage() * 1000 * (1 - CpuDecay));
            _nextCpu += s_cpuTicks;
        }

        long index = now / s_bucketTicks;
        int slot = (int)(index % Buckets);
        if (_bucketIndex[slot] != index)
        {
            _bucketIndex[slot] = index;
            _pass[slot] = 0;
            _rtSum[slot] = 0;
        }

        _pass[slot]++;
        _rtSum[slot] += (long)Math.Ceiling(sample.Latency.TotalMilliseconds);

        long maxInFlight = MaxInFlight(index);
        bool overloaded = _cpu >= CpuThreshold;
        if (overloaded && _prevDrop == 0 && sample.InFlight >= Math.Max(2, maxInFlight + 1))
        {
            _prevDrop = now;
        }
        else if (!overloaded && _prevDrop != 0 && now - _prevDrop > TimeSpan.TicksPerSecond)
        {
            _prevDrop = 0;
        }

        bool limiting = overloaded || (_prevDrop != 0 && now - _prevDrop <= TimeSpan.TicksPerSecond);

        // The source drops when inFlight > 1 and inFlight > maxInFlight before the increment, so it admits maxInFlight + 1.
        _limit = limiting ? (int)Math.Min(Unlimited, Math.Max(2, maxInFlight + 1)) : Unlimited;
        return _limit;
    }

    private long MaxInFlight(long current)
    {
        long maxPass = 0;
        long minRt = long.MaxValue;
        for (int i = 0; i < Buckets; i++)
        {
            // The current bucket is still filling and is left out, as the source does.
            if (_bucketIndex[i] >= current || _bucketIndex[i] <= current - Buckets || _pass[i] == 0)
            {
                continue;
            }

            maxPass = Math.Max(maxPass, _pass[i]);
            minRt = Math.Min(minRt, (long)Math.Ceiling(_rtSum[i] / (double)_pass[i]));
        }

        maxPass = Math.Max(1, maxPass);
        minRt = minRt == long.MaxValue ? 1 : Math.Max(1, minRt);
        return (long)Math.Floor((maxPass * minRt * (Buckets / 10) / 1000.0) + 0.5);
    }
}
