using Backpressure.Adaptive;

namespace Backpressure.Simulation.Competitors;

/// <summary>
/// Netflix concurrency-limits' AIMD limit, reimplemented from
/// <c>concurrency-limits-core/src/main/java/com/netflix/concurrency/limits/limit/AIMDLimit.java</c>
/// (Netflix/concurrency-limits @78a74b9) with its defaults: initial 20, min 20, max 200, backoff
/// ratio 0.9, timeout 5 s. Every sample updates it (no windowing, as the library's builders use it).
/// </summary>
public sealed class NetflixAimdLimit : ConcurrencyLimitAlgorithm
{
    private const int MinLimit = 20;
    private const int DefaultMaxLimit = 200;
    private const double BackoffRatio = 0.9;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(5);

    private double _limit = 20;

    /// <inheritdoc />
    /// <inheritdoc />
    public override int MaxLimit => (int)DefaultMaxLimit;

    public override int Limit => (int)_limit;

    /// <inheritdoc />
    public override int Update(in ConcurrencySample sample)
    {
        double next = _limit;
        if (sample.Dropped || sample.Latency > s_timeout)
        {
            next = _limit * BackoffRatio;
        }
        else if (sample.InFlight * 2 >= _limit)
        {
            next = _limit + 1;
        }

        _limit = Math.Min(DefaultMaxLimit, Math.Max(MinLimit, next));
        return Limit;
    }
}
