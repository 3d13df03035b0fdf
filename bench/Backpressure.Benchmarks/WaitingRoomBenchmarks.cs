using System.Threading.RateLimiting;
using Backpressure.Adaptive;
using Backpressure.Admission;
using BenchmarkDotNet.Attributes;

namespace Backpressure.Benchmarks;

/// <summary>
/// What a waiting room adds to an admission when nobody waits (issue 17's target: within 1.5x of the limiter
/// alone), side by side with the same adaptive limit asked directly, and a refusal by each (0 B). The limit is
/// held at 1024 so both always admit; the refusals come from a full limit of one, with no queue.
/// </summary>
[MemoryDiagnoser]
public class WaitingRoomBenchmarks
{
    private const int Ops = 100_000;
    private const int Limit = 1024;
    private static readonly AdmissionRequest Normal = new(new AdmissionPriority(Criticality.Normal, 7));
    private readonly AdaptiveConcurrencyLimiter _limiter = NewLimit(Limit);
    private readonly WaitingRoom<string> _room = new(NewLimit(Limit), static _ => Normal);
    private readonly AdaptiveConcurrencyLimiter _fullLimiter = NewLimit(1);
    private readonly WaitingRoom<string> _fullRoom = new(NewLimit(1), static _ => Normal, new WaitingRoomOptions { QueueLimit = 0 });
    private RateLimitLease? _heldLimiter;
    private RateLimitLease? _heldRoom;

    [GlobalSetup]
    public void Fill()
    {
        _heldLimiter = _fullLimiter.AttemptAcquire();
        _heldRoom = _fullRoom.AttemptAcquire("request");
        if (!_heldLimiter.IsAcquired || !_heldRoom.IsAcquired || _fullRoom.AttemptAcquire("request").IsAcquired)
        {
            throw new InvalidOperationException("The limits are not as the benchmark assumes.");
        }
    }

    [GlobalCleanup]
    public void Empty()
    {
        _heldLimiter?.Dispose();
        _heldRoom?.Dispose();
        _room.Dispose();
        _fullRoom.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Ops)]
    public void Limiter_Admitted()
    {
        for (int i = 0; i < Ops; i++)
        {
            _limiter.AttemptAcquire().Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public void Room_Admitted()
    {
        for (int i = 0; i < Ops; i++)
        {
            _room.AttemptAcquire("request").Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task Limiter_AdmittedAsync()
    {
        for (int i = 0; i < Ops; i++)
        {
            (await _limiter.AcquireAsync()).Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task Room_AdmittedAsync()
    {
        for (int i = 0; i < Ops; i++)
        {
            (await _room.AcquireAsync("request")).Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public void Limiter_Refused()
    {
        for (int i = 0; i < Ops; i++)
        {
            _fullLimiter.AttemptAcquire().Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task Room_RefusedAsync()
    {
        for (int i = 0; i < Ops; i++)
        {
            (await _fullRoom.AcquireAsync("request")).Dispose();
        }
    }

    private static AdaptiveConcurrencyLimiter NewLimit(int limit) =>
        new(new QueueingDelayLimit(new QueueingDelayLimitOptions { MinLimit = limit, InitialLimit = limit, MaxLimit = limit }));
}
