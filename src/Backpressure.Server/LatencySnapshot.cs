namespace Backpressure.Server;

/// <summary>Recent latency of one policy's admitted requests, in milliseconds, over the last 5 s.</summary>
/// <param name="P50Milliseconds">The median.</param>
/// <param name="P99Milliseconds">The 99th percentile.</param>
/// <param name="Samples">How many requests ended in the window (at most the last 4096).</param>
public sealed record LatencySnapshot(double P50Milliseconds, double P99Milliseconds, int Samples);
