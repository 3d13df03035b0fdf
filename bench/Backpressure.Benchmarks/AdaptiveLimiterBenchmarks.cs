using System.Threading.RateLimiting;
using Backpressure.Adaptive;
using BenchmarkDotNet.Attributes;

namespace Backpressure.Benchmarks;

/// <summary>
/// The adaptive limiter's hot path against the static gauge's, side by side: one acquire and one
/// release with room (single-threaded and two threads on one limit), and a refusal. The adaptive
/// limit is held at 1024 (min = max) so both always admit, but its algorithm runs on every timed
/// permit as in service: the limiter times up to 4000 permits a second and hands them to a
/// <see cref="QueueingDelayLimit"/>.
/// </summary>
[MemoryDiagnoser]
public class AdaptiveLimiterBenchmarks
{
    private const int OpsPerThread = 100_000;
    private const int Limit = 1024;
    private static readonly ParallelOptions TwoThreads = new() { MaxDegreeOfParallelism = 2 };
    private readonly PressureGauge _gauge = new(new PressureGaugeOptions { PermitLimit = Limit });
    private readonly AdaptiveConcurrencyLimiter _adaptive = new(
        new QueueingDelayLimit(new QueueingDelayLimitOptions { MinLimit = Limit, InitialLimit = Limit, MaxLimit = Limit }));
    private readonly PressureGauge _fullGauge = new(new PressureGaugeOptions { PermitLimit = 1 });
    private readonly AdaptiveConcurrencyLimiter _fullAdaptive = new(new FixedConcurrencyLimit(1));
    private RateLimitLease? _heldGauge;
    private RateLimitLease? _heldAdaptive;

    [GlobalSetup]
    public void Fill()
    {
        _heldGauge = _fullGauge.AttemptAcquire();
        _heldAdaptive = _fullAdaptive.AttemptAcquire();
        using RateLimitLease gauge = _gauge.AttemptAcquire();
        using RateLimitLease adaptive = _adaptive.AttemptAcquire();
        if (!gauge.IsAcquired || !adaptive.IsAcquired || _fullAdaptive.AttemptAcquire().IsAcquired || _fullGauge.AttemptAcquire().IsAcquired)
        {
            throw new InvalidOperationException("The limits are not as the benchmark assumes.");
        }
    }

    [GlobalCleanup]
    public void Empty()
    {
        _heldGauge?.Dispose();
        _heldAdaptive?.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = OpsPerThread)]
    public void Gauge_OneThread()
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            _gauge.AttemptAcquire().Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void Adaptive_OneThread()
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            _adaptive.AttemptAcquire().Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void Gauge_TwoThreads() => Parallel.For(0, 2, TwoThreads, _ =>
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            _gauge.AttemptAcquire().Dispose();
        }
    });

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void Adaptive_TwoThreads() => Parallel.For(0, 2, TwoThreads, _ =>
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            _adaptive.AttemptAcquire().Dispose();
        }
    });

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void Gauge_Refusal()
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            _fullGauge.AttemptAcquire();
        }
    }

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void Adaptive_Refusal()
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            _fullAdaptive.AttemptAcquire();
        }
    }
}
