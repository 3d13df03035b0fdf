using Backpressure.RateLimiting;

namespace Backpressure.Redis;

/// <summary>
/// <see cref="LeakyBucketLimiter"/> shared through Redis: requests leave one per
/// <c>ReplenishmentPeriod / PermitsPerPeriod</c> across all instances. The key holds when the last admitted
/// request leaves; a request is given the next turn and waits for it in <c>AcquireAsync</c>, or is
/// refused at once when <c>QueueLimit</c> are already waiting, with <c>RetryAfter</c> the time until
/// a place frees up. Each request is one permit.
/// </summary>
/// <remarks>
/// Unlike the in-process bucket, a waiter that is cancelled does not give its turn back: the turn
/// was taken in Redis, and the ones behind it may be waiting on other instances.
/// </remarks>
public sealed class RedisLeakyBucketLimiter : RedisRateLimiter
{
    /// <summary>Creates the limiter for one partition.</summary>
    /// <param name="store">The shared Redis.</param>
    /// <param name="partition">Whose bucket: a client id, say; part of the key.</param>
    /// <param name="options">The bucket; validated here.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public RedisLeakyBucketLimiter(RedisStore store, string partition, LeakyBucketLimiterOptions options)
        : base(store, "leaky-bucket", partition, RedisScript.LeakyBucket, 1,
            [(long)(Validated(options).ReplenishmentPeriod.TotalMicroseconds / options.PermitsPerPeriod), options.QueueLimit],
            () => new LeakyBucketLimiter(options, store.Time))
    {
    }

    private static LeakyBucketLimiterOptions Validated(LeakyBucketLimiterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }
}
