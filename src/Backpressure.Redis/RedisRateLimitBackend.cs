using System.Threading.RateLimiting;
using Backpressure.RateLimiting;

namespace Backpressure.Redis;

/// <summary>
/// Keeps each partition's count in Redis, so every instance of a service shares one limit per client:
/// the backend <c>UseRedis</c> chooses. A partition's key is <c>{PREFIX:kind:POLICY:PARTITION}</c>, so two
/// policies never share a count.
/// </summary>
/// <param name="store">The store the limiters run their scripts on.</param>
public sealed class RedisRateLimitBackend(RedisStore store) : RateLimitBackend
{
    private readonly RedisStore _store = store ?? throw new ArgumentNullException(nameof(store));

    /// <inheritdoc />
    public override RateLimiter CreateFixedWindow(string policyName, string partitionKey, FixedWindowLimiterOptions options) =>
        new RedisFixedWindowLimiter(_store, Key(policyName, partitionKey), options);

    /// <inheritdoc />
    public override RateLimiter CreateSlidingWindow(string policyName, string partitionKey, SlidingWindowLimiterOptions options) =>
        new RedisSlidingWindowLimiter(_store, Key(policyName, partitionKey), options);

    /// <inheritdoc />
    public override RateLimiter CreateTokenBucket(string policyName, string partitionKey, TokenBucketLimiterOptions options) =>
        new RedisTokenBucketLimiter(_store, Key(policyName, partitionKey), options);

    /// <inheritdoc />
    public override RateLimiter CreateLeakyBucket(string policyName, string partitionKey, LeakyBucketLimiterOptions options) =>
        new RedisLeakyBucketLimiter(_store, Key(policyName, partitionKey), options);

    private static string Key(string policyName, string partitionKey) => $"{policyName}:{partitionKey}";
}
