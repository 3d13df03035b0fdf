using System.Threading.RateLimiting;

namespace Backpressure.RateLimiting;

/// <summary>
/// Keeps each partition's count in this process, on <see cref="TimeProvider"/>: the default backend.
/// Every instance of a service limits alone.
/// </summary>
/// <param name="timeProvider">The clock of every limiter created; <see cref="TimeProvider.System"/> when null.</param>
public sealed class InProcessRateLimitBackend(TimeProvider? timeProvider = null) : RateLimitBackend
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    public override RateLimiter CreateFixedWindow(string policyName, string partitionKey, FixedWindowLimiterOptions options) => new FixedWindowLimiter(options, _time);

    /// <inheritdoc />
    public override RateLimiter CreateSlidingWindow(string policyName, string partitionKey, SlidingWindowLimiterOptions options) => new SlidingWindowLimiter(options, _time);

    /// <inheritdoc />
    public override RateLimiter CreateTokenBucket(string policyName, string partitionKey, TokenBucketLimiterOptions options) => new TokenBucketLimiter(options, _time);

    /// <inheritdoc />
    public override RateLimiter CreateLeakyBucket(string policyName, string partitionKey, LeakyBucketLimiterOptions options) => new LeakyBucketLimiter(options, _time);
}
