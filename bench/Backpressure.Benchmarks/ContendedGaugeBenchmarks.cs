using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;

namespace Backpressure.Benchmarks;

/// <summary>
/// The same acquire/release pairs as <see cref="GaugeBenchmarks"/>, run by two threads at once
/// against one limit. Each invocation is <see cref="OpsPerThread"/> pairs on each thread; the time
/// reported is the wall time per pair as one thread sees it.
/// </summary>
[MemoryDiagnoser]
public class ContendedGaugeBenchmarks
{
    private const int OpsPerThread = 100_000;
    private const int Limit = 1024;
    private static readonly ParallelOptions TwoThreads = new() { MaxDegreeOfParallelism = 2 };
    private int _counter;
    private readonly PressureGauge _gauge = new(new PressureGaugeOptions { PermitLimit = Limit });
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions { PermitLimit = Limit, QueueLimit = 0 });
    private readonly SemaphoreSlim _semaphore = new(Limit, Limit);

    [Benchmark(Baseline = true, OperationsPerInvoke = OpsPerThread)]
    public void InterlockedCounter() => OnTwoThreads(this, static self =>
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            if (Interlocked.Increment(ref self._counter) <= Limit)
            {
                Interlocked.Decrement(ref self._counter);
            }
        }
    });

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void PressureGauge_TryProcess() => OnTwoThreads(this, static self =>
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            self._gauge.TryProcess(static () => { });
        }
    });

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void PressureGauge_AttemptAcquire() => OnTwoThreads(this, static self =>
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            self._gauge.AttemptAcquire().Dispose();
        }
    });

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void ConcurrencyLimiter_AttemptAcquire() => OnTwoThreads(this, static self =>
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            self._limiter.AttemptAcquire().Dispose();
        }
    });

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void SemaphoreSlim_Wait0() => OnTwoThreads(this, static self =>
    {
        for (int i = 0; i < OpsPerThread; i++)
        {
            if (self._semaphore.Wait(0))
            {
                self._semaphore.Release();
            }
        }
    });

    private static void OnTwoThreads(ContendedGaugeBenchmarks self, Action<ContendedGaugeBenchmarks> loop) =>
        Parallel.For(0, 2, TwoThreads, _ => loop(self));
}
