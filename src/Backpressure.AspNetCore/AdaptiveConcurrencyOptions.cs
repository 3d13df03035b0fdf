using Backpressure.Adaptive;

namespace Backpressure.AspNetCore;

/// <summary>
/// What <see cref="BackpressureBuilder.AddAdaptiveConcurrency(string, Action{AdaptiveConcurrencyOptions})"/>
/// builds: a <see cref="QueueingDelayLimit"/> behind an <see cref="AdaptiveConcurrencyLimiter"/>,
/// optionally held below the GC heap's limit. Binds from configuration as nested sections
/// (<c>Algorithm:MaxLimit</c>, <c>Limiter:MaxSamplesPerSecond</c>, <c>GcHeapUsageLimit</c>, <c>CpuUsageLimit</c>).
/// </summary>
public sealed class AdaptiveConcurrencyOptions
{
    /// <summary>The limit algorithm's options.</summary>
    public QueueingDelayLimitOptions Algorithm { get; } = new();

    /// <summary>The enforcement's options.</summary>
    public AdaptiveConcurrencyLimiterOptions Limiter { get; } = new();

    /// <summary>
    /// When set, the GC heap's use of its limit (<see cref="GcHeapUsage.Read"/>) is the algorithm's
    /// resource signal and this is the share to stay under, between 0 and 1: memory-bound work is held
    /// below the heap limit before it runs out of memory. Null (the default) for no resource signal.
    /// </summary>
    public double? GcHeapUsageLimit { get; set; }

    /// <summary>
    /// When set, the process's CPU use of the cores it may run on (<see cref="ProcessCpuUsage"/>) is
    /// also a resource signal and this is the share to stay under, between 0 and 1: past it, requests
    /// queue for a thread before they reach the limit, where latency of admitted work cannot see them.
    /// Null (the default) for none.
    /// </summary>
    public double? CpuUsageLimit { get; set; }

    /// <summary>
    /// When set, how long work waits for a thread pool thread (<see cref="ThreadPoolQueueDelay"/>) is
    /// also a resource signal, and this is the delay to stay under: past it, requests wait for a thread
    /// before they reach the limit, where the latency of admitted work cannot see them. Unlike CPU use it
    /// stays low while the CPU only answers cheap refusals. Null (the default) for none.
    /// </summary>
    public TimeSpan? ThreadPoolDelayLimit { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (GcHeapUsageLimit is { } limit && !(limit > 0 && limit <= 1))
        {
            throw new ArgumentException($"{nameof(GcHeapUsageLimit)} must be greater than 0 and at most 1 (was {limit}).", nameof(GcHeapUsageLimit));
        }

        if (CpuUsageLimit is { } cpu && !(cpu > 0 && cpu <= 1))
        {
            throw new ArgumentException($"{nameof(CpuUsageLimit)} must be greater than 0 and at most 1 (was {cpu}).", nameof(CpuUsageLimit));
        }

        if (ThreadPoolDelayLimit is { } delay && !(delay > TimeSpan.Zero && delay <= TimeSpan.FromMinutes(1)))
        {
            throw new ArgumentException($"{nameof(ThreadPoolDelayLimit)} must be greater than zero and at most a minute (was {delay}).", nameof(ThreadPoolDelayLimit));
        }

        Algorithm.Validate();
        Limiter.Validate();
    }

    // Each configured resource reads as a share of its own limit; the algorithm watches the fullest,
    // against a limit of 1. The thread-pool probe runs a timer while in use, so the caller owns it
    // (the container disposes it with the host) and passes it when ThreadPoolDelayLimit is set.
    internal QueueingDelayLimitOptions AlgorithmWithResourceSignal(TimeProvider timeProvider, ThreadPoolQueueDelay? delay)
    {
        double? heap = GcHeapUsageLimit, cpuLimit = CpuUsageLimit;
        TimeSpan? delayLimit = ThreadPoolDelayLimit;
        if (heap is null && cpuLimit is null && delayLimit is null)
        {
            return Algorithm;
        }

        ProcessCpuUsage? cpu = cpuLimit is null ? null : new ProcessCpuUsage(timeProvider);
        Algorithm.ResourceUsage = () => Math.Max(
            Math.Max(heap is { } h ? GcHeapUsage.Read() / h : 0, cpu is not null ? cpu.Read() / cpuLimit!.Value : 0),
            delay is not null && delayLimit is { } d ? delay.Current / d : 0);
        Algorithm.ResourceUsageLimit = 1;
        return Algorithm;
    }
}
