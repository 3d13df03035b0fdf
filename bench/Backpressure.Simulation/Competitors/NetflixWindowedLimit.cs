using Backpressure.Adaptive;

namespace Backpressure.Simulation.Competitors;

/// <summary>
/// Netflix concurrency-limits' WindowedLimit, reimplemented from
/// <c>concurrency-limits-core/src/main/java/com/netflix/concurrency/limits/limit/WindowedLimit.java</c>
/// and <c>limit/window/AverageSampleWindow.java</c> (Netflix/concurrency-limits @78a74b9) with its
/// defaults: windows of 1 s (min and max), at least 10 samples, samples under 100 µs ignored; the
/// window hands its delegate the mean RTT, the most in flight and whether any sample dropped.
/// </summary>
public sealed class NetflixWindowedLimit(ConcurrencyLimitAlgorithm inner) : ConcurrencyLimitAlgorithm
{
    private static readonly TimeSpan s_minWindow = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_maxWindow = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_minRttThreshold = TimeSpan.FromTicks(1000);
    private const int WindowSize = 10;

    private TimeSpan _nextUpdate;
    private long _sum;
    private long _minRtt = long.MaxValue;
    private int _count;
    private int _maxInFlight;
    private bool _dropped;

    /// <inheritdoc />
    public override int Limit => inner.Limit;

    /// <inheritdoc />
    public override int Update(in ConcurrencySample sample)
    {
        if (sample.Latency < s_minRttThreshold)
        {
            return Limit;
        }

        _sum += sample.Latency.Ticks;
        _minRtt = Math.Min(_minRtt, sample.Latency.Ticks);
        _count++;
        _maxInFlight = Math.Max(_maxInFlight, sample.InFlight);
        _dropped |= sample.Dropped;

        TimeSpan end = sample.CompletedAt;
        if (end > _nextUpdate)
        {
            long candidate = _minRtt;
            var window = new ConcurrencySample(end, TimeSpan.FromTicks(_count == 0 ? 0 : _sum / _count), _maxInFlight, _dropped);
            bool ready = candidate < long.MaxValue && _count >= WindowSize;
            long wait = Math.Min(Math.Max(candidate == long.MaxValue ? 0 : candidate * 2, s_minWindow.Ticks), s_maxWindow.Ticks);
            _nextUpdate = end + TimeSpan.FromTicks(wait);
            _sum = 0;
            _minRtt = long.MaxValue;
            _count = 0;
            _maxInFlight = 0;
            _dropped = false;
            if (ready)
            {
                inner.Update(window);
            }
        }

        return Limit;
    }
}
