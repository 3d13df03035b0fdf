namespace Backpressure.Adaptive;

/// <summary>
/// The process's CPU use as a share of the cores it may run on, as a resource signal for
/// <see cref="QueueingDelayLimitOptions.ResourceUsage"/>: when the CPU is saturated, requests queue
/// for a thread before they ever reach a limiter (in the thread pool, in the server's accept loop),
/// where the latency of admitted work cannot see them.
/// </summary>
public sealed class ProcessCpuUsage
{
    private readonly TimeProvider _timeProvider;
    private readonly Lock _sync = new();
    private readonly TimeSpan _minimumSpan;
    private long _lastAt;
    private TimeSpan _lastCpu;
    private double _last;

    /// <summary>Starts measuring from now.</summary>
    /// <param name="timeProvider">The wall clock the CPU time is divided by; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="minimumSpan">The shortest span a reading covers: reads sooner return the previous reading. Default 100 ms.</param>
    public ProcessCpuUsage(TimeProvider? timeProvider = null, TimeSpan? minimumSpan = null)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        _minimumSpan = minimumSpan ?? TimeSpan.FromMilliseconds(100);
        _lastAt = _timeProvider.GetTimestamp();
        _lastCpu = Environment.CpuUsage.TotalTime;
    }

    /// <summary>
    /// CPU time used since the previous reading divided by the wall time since then and the cores
    /// this process may use (<see cref="Environment.ProcessorCount"/>, which follows affinity and
    /// container limits): 0 idle, 1 every core busy.
    /// </summary>
    public double Read()
    {
        lock (_sync)
        {
            TimeSpan wall = _timeProvider.GetElapsedTime(_lastAt);
            if (wall < _minimumSpan)
            {
                return _last;
            }

            TimeSpan cpu = Environment.CpuUsage.TotalTime;
            _last = Math.Clamp((cpu - _lastCpu) / (wall * Environment.ProcessorCount), 0, 1);
            _lastCpu = cpu;
            _lastAt = _timeProvider.GetTimestamp();
            return _last;
        }
    }
}
