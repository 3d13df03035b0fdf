using System.Threading.RateLimiting;

namespace Backpressure.RateLimiting;

/// <summary>
/// Where per-client rate limits keep their counts: this process (<see cref="InProcessRateLimitBackend"/>)
/// or a store that several instances share (the Redis backend in <c>Backpressure.Redis</c>). A policy asks
/// the backend for one limiter per partition and knows nothing of where its state lives.
/// </summary>
public abstract class RateLimitBackend
{
    /// <summary>A fixed-window limiter for one partition of a policy.</summary>
    /// <param name="policyName">The policy, so that two policies never share a partition's count.</param>
    /// <param name="partitionKey">The partition (a client, a user, a key).</param>
    /// <param name="options">The limit, already validated.</param>
    public abstract RateLimiter CreateFixedWindow(string policyName, string partitionKey, FixedWindowLimiterOptions options);

    /// <summary>A sliding-window limiter for one partition of a policy.</summary>
    /// <param name="policyName">The policy, so that two policies never share a partition's count.</param>
    /// <param name="partitionKey">The partition (a client, a user, a key).</param>
    /// <param name="options">The limit, already validated.</param>
    public abstract RateLimiter CreateSlidingWindow(string policyName, string partitionKey, SlidingWindowLimiterOptions options);

    /// <summary>A token-bucket limiter for one partition of a policy.</summary>
    /// <param name="policyName">The policy, so that two policies never share a partition's count.</param>
    /// <param name="partitionKey">The partition (a client, a user, a key).</param>
    /// <param name="options">The limit, already validated.</param>
    public abstract RateLimiter CreateTokenBucket(string policyName, string partitionKey, TokenBucketLimiterOptions options);

    /// <summary>A leaky-bucket limiter for one partition of a policy.</summary>
    /// <param name="policyName">The policy, so that two policies never share a partition's count.</param>
    /// <param name="partitionKey">The partition (a client, a user, a key).</param>
    /// <param name="options">The limit, already validated.</param>
    public abstract RateLimiter CreateLeakyBucket(string policyName, string partitionKey, LeakyBucketLimiterOptions options);
}
