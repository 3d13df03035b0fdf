using Backpressure.Adaptive;

namespace Backpressure.Simulation.Competitors;

/// <summary>
/// Netflix concurrency-limits' Gradient2 limit (its recommended algorithm), reimplemented from
/// <c>concurrency-limits-core/src/main/java/com/netflix/concurrency/limits/limit/Gradient2Limit.java</c>
/// and <c>limit/measurement/ExpAvgMeasurement.java</c> (Netflix/concurrency-limits @78a74b9) with its
/// defaults: initial 20, min 20, max 200, smoothing 0.2, queue size 4, long window 600, RTT
/// tolerance 1.5. It takes one sample per window: wrap it in <see cref="NetflixWindowedLimit"/>, as
/// the library's README does.
/// </summary>
public sealed class NetflixGradient2Limit : ConcurrencyLimitAlgorithm
{
    private const double MinLimit = 20;
    private const double DefaultMaxLimit = 200;
    private const double Smoothing = 0.2;
    private const double QueueSize = 4;
    private const double RttTolerance = 1.5;
    private const int LongWindow = 600;
    private const int WarmupWindow = 10;

    private double _limit = 20;
    private double _longRtt;
    private int _longRttCount;

    /// <inheritdoc />
    /// <inheritdoc />
    public override int MaxLimit => (int)DefaultMaxLimit;

    public override int Limit => (int)_limit;

    /// <inheritdoc />
    public override int Update(in ConcurrencySample sample)
    {
        double shortRtt = sample.Latency.Ticks;
        double longRtt = AddToLongRtt(shortRtt);

        // A long RTT far above the short one means load has dropped: let it decay faster.
        if (longRtt / shortRtt > 2)
        {
            _longRtt *= 0.95;
        }

        if (sample.InFlight < _limit / 2)
        {
            return Limit;
        }

        double gradient = Math.Max(0.5, Math.Min(1.0, RttTolerance * longRtt / shortRtt));
        double next = (_limit * gradient) + QueueSize;
        next = (_limit * (1 - Smoothing)) + (next * Smoothing);
        _limit = Math.Max(MinLimit, Math.Min(DefaultMaxLimit, next));
        return Limit;
    }

    // ExpAvgMeasurement(600, 10): a plain mean over the first 10 samples, then an exponential
    // average with factor 2 / (600 + 1).
    private double AddToLongRtt(double rtt)
    {
        if (_longRttCount < WarmupWindow)
        {
            _longRttCount++;
            _longRtt += (rtt - _longRtt) / _longRttCount;
        }
        else
        {
            double factor = 2.0 / (LongWindow + 1);
            _longRtt = (_longRtt * (1 - factor)) + (rtt * factor);
        }

        return _longRtt;
    }
}
