namespace Backpressure.Simulation;

/// <summary>
/// What the simulated service is like at some moment: <see cref="Workers"/> workers (CPU-like: a
/// request holds one for its CPU time, others queue FIFO), then a downstream call (I/O-like: it
/// holds no worker) of <see cref="DownstreamTime"/>, through at most <see cref="DownstreamCap"/>
/// concurrent calls (0 for no cap). Both times vary per request, log-normally with mean 1 and
/// coefficient of variation <see cref="Variation"/>.
/// </summary>
public sealed record ServiceShape(int Workers, TimeSpan CpuTime, TimeSpan DownstreamTime, int DownstreamCap = 0, double Variation = 0.5)
{
    /// <summary>Requests per second the service completes when saturated.</summary>
    public double Capacity => Math.Min(
        Workers / CpuTime.TotalSeconds,
        DownstreamCap > 0 && DownstreamTime > TimeSpan.Zero ? DownstreamCap / DownstreamTime.TotalSeconds : double.PositiveInfinity);

    /// <summary>The mean latency of a request that never queues.</summary>
    public TimeSpan NoLoadLatency => CpuTime + DownstreamTime;

    /// <summary>The ideal concurrency limit: capacity times the no-load latency (Little's law), the least in flight that saturates the service.</summary>
    public double IdealLimit => Capacity * NoLoadLatency.TotalSeconds;
}
