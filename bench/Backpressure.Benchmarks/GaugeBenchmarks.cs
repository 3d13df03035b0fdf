using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;

namespace Backpressure.Benchmarks;

/// <summary>
/// One acquire and one release of a concurrency limit that has room, single-threaded: our gauge
/// against the base library's <see cref="ConcurrencyLimiter"/> (queue 0), <see cref="SemaphoreSlim"/>
/// and the floor, a bare <see cref="Interlocked"/> counter.
/// </summary>
[MemoryDiagnoser]
public class GaugeBenchmarks
{
    private const int Limit = 1024;
    private int _counter;
    private readonly PressureGauge _gauge = new(new PressureGaugeOptions { PermitLimit = Limit });
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions { PermitLimit = Limit, QueueLimit = 0 });
    private readonly SemaphoreSlim _semaphore = new(Limit, Limit);

    [Benchmark(Baseline = true)]
    public void InterlockedCounter()
    {
        if (Interlocked.Increment(ref _counter) <= Limit)
        {
            Interlocked.Decrement(ref _counter);
        }
    }

    [Benchmark]
    public bool PressureGauge_TryProcess() => _gauge.TryProcess(static () => { });

    [Benchmark]
    public void PressureGauge_AttemptAcquire() => _gauge.AttemptAcquire().Dispose();

    [Benchmark]
    public void ConcurrencyLimiter_AttemptAcquire() => _limiter.AttemptAcquire().Dispose();

    [Benchmark]
    public void SemaphoreSlim_Wait0()
    {
        if (_semaphore.Wait(0))
        {
            _semaphore.Release();
        }
    }
}
