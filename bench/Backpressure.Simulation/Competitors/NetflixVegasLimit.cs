using Backpressure.Adaptive;

namespace Backpressure.Simulation.Competitors;

/// <summary>
/// Netflix concurrency-limits' Vegas limit (the library's default limit), reimplemented from
/// <c>concurrency-limits-core/src/main/java/com/netflix/concurrency/limits/limit/VegasLimit.java</c>
/// (Netflix/concurrency-limits @78a74b9) with its defaults: initial 20, max 1000, smoothing 1.0,
/// probe multiplier 30; α = 3·log10(L), β = 6·log10(L), threshold = log10(L), steps of log10(L),
/// where log10(L) is at least 1. Every sample updates it (no windowing, as the default limiter uses it).
/// </summary>
public sealed class NetflixVegasLimit : ConcurrencyLimitAlgorithm
{
    private const int MaxConcurrency = 1000;
    private const double Smoothing = 1.0;
    private const int ProbeMultiplier = 30;

    private readonly Random _random;
    private double _limit = 20;
    private long _rttNoLoad;
    private int _probeCount;
    private double _probeJitter;

    /// <summary>Creates the limit; <paramref name="seed"/> drives its probe jitter (the source uses a thread-local random).</summary>
    public NetflixVegasLimit(int seed = 1)
    {
        _random = new Random(seed);
        ResetProbeJitter();
    }

    /// <inheritdoc />
    public override int Limit => (int)_limit;

    /// <inheritdoc />
    public override int Update(in ConcurrencySample sample)
    {
        long rtt = sample.Latency.Ticks;
        if (_probeCount >= _probeJitter * ProbeMultiplier * _limit)
        {
            // The probe takes the current RTT as the new no-load RTT.
            ResetProbeJitter();
            _probeCount = 0;
            _rttNoLoad = rtt;
            return Limit;
        }

        _probeCount++;
        if (_rttNoLoad == 0 || rtt < _rttNoLoad)
        {
            _rttNoLoad = rtt;
            return Limit;
        }

        UpdateEstimatedLimit(rtt, sample.InFlight, sample.Dropped);
        return Limit;
    }

    private static double Log10Root(double limit) => Math.Max(1, (int)Math.Log10(limit));

    private void UpdateEstimatedLimit(long rtt, int inFlight, bool dropped)
    {
        double queueSize = Math.Ceiling(_limit * (1 - ((double)_rttNoLoad / rtt)));
        double next;
        double step = Log10Root(_limit);
        if (dropped)
        {
            next = _limit - step;
        }
        else if (inFlight * 2 < _limit)
        {
            // Application-limited: the limit is not what holds work back.
            return;
        }
        else
        {
            double alpha = 3 * step, beta = 6 * step, threshold = step;
            if (queueSize <= threshold)
            {
                next = _limit + beta;
            }
            else if (queueSize < alpha)
            {
                next = _limit + step;
            }
            else if (queueSize > beta)
            {
                next = _limit - step;
            }
            else
            {
                return;
            }
        }

        next = Math.Max(1, Math.Min(MaxConcurrency, next));
        _limit = ((1 - Smoothing) * _limit) + (Smoothing * next);
    }

    private void ResetProbeJitter() => _probeJitter = 0.5 + (_random.NextDouble() * 0.5);
}
