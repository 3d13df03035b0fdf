using Backpressure.Adaptive;

namespace Backpressure.Simulation.Competitors;

/// <summary>
/// Envoy's adaptive-concurrency gradient controller, reimplemented from
/// <c>source/extensions/filters/http/adaptive_concurrency/controller/gradient_controller.cc</c>
/// (envoyproxy/envoy @c35f67f) and the defaults of
/// <c>api/envoy/extensions/filters/http/adaptive_concurrency/v3/adaptive_concurrency.proto</c>:
/// p50 of each window, minRTT buffer 25 %, min concurrency 3, max 1000, 50 requests per minRTT
/// measurement, jitter 15 %. The two intervals have no default; the filter's documentation example
/// gives 100 ms for <c>concurrency_update_interval</c> and 60 s for the minRTT <c>interval</c>.
/// </summary>
/// <remarks>
/// Envoy's timers are driven here by the samples' own times (the seam carries no timer): a window
/// closes at the first sample after it is due. It starts at the min concurrency and measures minRTT
/// at once, pinning the limit to the min concurrency until 50 requests that started in the
/// measurement window completed; five consecutive windows at the min concurrency force a new measurement.
/// </remarks>
public sealed class EnvoyGradientController : ConcurrencyLimitAlgorithm
{
    private const int MinConcurrency = 3;
    private const int MaxConcurrency = 1000;
    private const double BufferShare = 0.25;
    private const double JitterShare = 0.15;
    private const int MinRttRequestCount = 50;
    private const double Percentile = 0.5;
    private static readonly long s_updateInterval = TimeSpan.FromMilliseconds(100).Ticks;
    private static readonly long s_minRttInterval = TimeSpan.FromSeconds(60).Ticks;

    private readonly Random _random;
    private readonly List<long> _samples = [];
    private int _limit = MinConcurrency;
    private int _deferredLimit;
    private long _minRtt;
    private long _minRttEpoch = long.MinValue;
    private long _nextSampleReset = long.MaxValue;
    private long _nextMinRtt = long.MaxValue;
    private int _consecutiveMinConcurrency;
    private bool _started;
    private long _now;

    /// <summary>Creates the controller; <paramref name="seed"/> drives its jitter.</summary>
    public EnvoyGradientController(int seed = 1) => _random = new Random(seed);

    /// <inheritdoc />
    public override int Limit => _limit;

    private bool InMinRttWindow => _deferredLimit > 0;

    /// <inheritdoc />
    public override int Update(in ConcurrencySample sample)
    {
        long now = sample.CompletedAt.Ticks;
        _now = now;
        if (!_started)
        {
            _started = true;
            EnterMinRttWindow(sample.AcquiredAt.Ticks);
        }

        if (now >= _nextMinRtt)
        {
            _nextMinRtt = long.MaxValue;
            EnterMinRttWindow(now);
        }

        if (now >= _nextSampleReset && !InMinRttWindow)
        {
            ResetSampleWindow();
            _nextSampleReset = now + s_updateInterval;
        }

        // Samples from requests sent before the current window may not reflect it.
        if (sample.AcquiredAt.Ticks < _minRttEpoch)
        {
            return _limit;
        }

        _samples.Add(sample.Latency.Ticks);
        if (InMinRttWindow && _samples.Count >= MinRttRequestCount)
        {
            _minRtt = TakePercentile();
            SetLimit(_deferredLimit);
            _deferredLimit = 0;
            _nextMinRtt = now + s_minRttInterval + (long)(_random.NextDouble() * s_minRttInterval * JitterShare);
            _nextSampleReset = now + s_updateInterval;
        }

        return _limit;
    }

    private void EnterMinRttWindow(long now)
    {
        if (InMinRttWindow)
        {
            return;
        }

        _deferredLimit = Math.Max(1, _limit);
        SetLimit(MinConcurrency);
        _samples.Clear();
        _minRttEpoch = now;
    }

    private void ResetSampleWindow()
    {
        if (_samples.Count == 0)
        {
            return;
        }

        long sampleRtt = TakePercentile();
        double bufferedMinRtt = _minRtt + (_minRtt * BufferShare);
        double gradient = Math.Max(0.5, Math.Min(2.0, bufferedMinRtt / Math.Max(1, sampleRtt)));
        double limit = _limit * gradient;
        int next = (int)(limit + Math.Sqrt(limit));
        _consecutiveMinConcurrency = next <= MinConcurrency ? _consecutiveMinConcurrency + 1 : 0;
        SetLimit(Math.Max(MinConcurrency, Math.Min(MaxConcurrency, next)));
    }

    private void SetLimit(int limit)
    {
        _limit = limit;
        if (_consecutiveMinConcurrency >= 5)
        {
            _consecutiveMinConcurrency = 0;
            EnterMinRttWindow(_now);
        }
    }

    private long TakePercentile()
    {
        _samples.Sort();
        long value = _samples[Math.Clamp((int)Math.Ceiling(Percentile * _samples.Count) - 1, 0, _samples.Count - 1)];
        _samples.Clear();
        return value;
    }
}
