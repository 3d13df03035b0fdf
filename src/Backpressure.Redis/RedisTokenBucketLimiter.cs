using System.Globalization;
using Backpressure.RateLimiting;

namespace Backpressure.Redis;

/// <summary>
/// <see cref="TokenBucketLimiter"/> shared through Redis, as GCRA: one number per partition (when
/// its bucket will be full again), so each check is one read and one write of one key. It admits
/// exactly what the in-process bucket admits on the same arrivals (tokens refill continuously),
/// and a refusal's <c>RetryAfter</c> is the time until the missing tokens have refilled.
/// </summary>
public sealed class RedisTokenBucketLimiter : RedisRateLimiter
{
    /// <summary>Creates the limiter for one partition.</summary>
    /// <param name="store">The shared Redis.</param>
    /// <param name="partition">Whose bucket: a client id, say; part of the key.</param>
    /// <param name="options">The bucket; validated here.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public RedisTokenBucketLimiter(RedisStore store, string partition, TokenBucketLimiterOptions options)
        : base(store, "token-bucket", partition, RedisScript.TokenBucket, Validated(options).TokenLimit,
            [Microseconds(options.ReplenishmentPeriod.Ticks / (double)options.TokensPerPeriod), options.TokenLimit],
            () => new TokenBucketLimiter(options, store.Time))
    {
    }

    private static TokenBucketLimiterOptions Validated(TokenBucketLimiterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }

    private static string Microseconds(double ticks) => (ticks / TimeSpan.TicksPerMicrosecond).ToString("R", CultureInfo.InvariantCulture);
}
