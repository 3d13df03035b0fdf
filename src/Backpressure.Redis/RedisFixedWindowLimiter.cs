using Backpressure.RateLimiting;

namespace Backpressure.Redis;

/// <summary>
/// <see cref="FixedWindowLimiter"/> shared through Redis: windows back to back from the Unix epoch
/// (so every instance agrees where they start), one hash per partition holding the current window's
/// number and count. A refusal's <c>RetryAfter</c> is the time left in the window.
/// </summary>
public sealed class RedisFixedWindowLimiter : RedisRateLimiter
{
    /// <summary>Creates the limiter for one partition.</summary>
    /// <param name="store">The shared Redis.</param>
    /// <param name="partition">Whose windows: a client id, say; part of the key.</param>
    /// <param name="options">The window; validated here.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public RedisFixedWindowLimiter(RedisStore store, string partition, FixedWindowLimiterOptions options)
        : base(store, "fixed-window", partition, RedisScript.FixedWindow, Validated(options).PermitLimit,
            [(long)options.Window.TotalMicroseconds, options.PermitLimit],
            () => new FixedWindowLimiter(options, store.Time))
    {
    }

    private static FixedWindowLimiterOptions Validated(FixedWindowLimiterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Window < TimeSpan.FromMilliseconds(1))
        {
            throw new ArgumentException($"{nameof(options.Window)} must be at least 1 ms for a Redis limiter, whose keys expire in milliseconds (was {options.Window}).", nameof(options));
        }

        return options;
    }
}
