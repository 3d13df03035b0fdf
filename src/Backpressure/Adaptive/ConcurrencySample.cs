namespace Backpressure.Adaptive;

/// <summary>
/// What one completed permit of an <see cref="AdaptiveConcurrencyLimiter"/> tells its
/// <see cref="ConcurrencyLimitAlgorithm"/>: when it ended, how long it was held, how many permits
/// were in flight when it was granted, and whether the work failed or timed out.
/// </summary>
/// <param name="CompletedAt">When the permit was returned, on the limiter's clock (time since the limiter was created).</param>
/// <param name="Latency">How long the permit was held: from the grant to the return.</param>
/// <param name="InFlight">Permits in flight just after this one was granted, counting itself (Netflix's <c>inflight</c>).</param>
/// <param name="Dropped">The work failed or timed out, so its latency says little about the service's speed.</param>
/// <param name="Weight">How many granted permits this sample stands for: at high rates the limiter times only every
/// <c>Weight</c>-th permit (1 when every permit is timed).</param>
public readonly record struct ConcurrencySample(TimeSpan CompletedAt, TimeSpan Latency, int InFlight, bool Dropped, int Weight = 1)
{
    /// <summary>When the permit was granted: <see cref="CompletedAt"/> less <see cref="Latency"/>.</summary>
    public TimeSpan AcquiredAt => CompletedAt - Latency;
}
