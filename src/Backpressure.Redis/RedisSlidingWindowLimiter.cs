using Backpressure.RateLimiting;

namespace Backpressure.Redis;

/// <summary>
/// <see cref="SlidingWindowLimiter"/> shared through Redis, as segment counters: one hash per
/// partition with a count per segment still in the window (at most <c>SegmentsPerWindow + 1</c>
/// fields), not a log of every request. Segments are aligned to the Unix epoch.
/// </summary>
/// <remarks>
/// Error bound: the limit holds exactly over every window-length span that starts on a segment
/// boundary. A span that starts inside a segment also covers part of one more, so it may see up to
/// <c>PermitLimit</c> plus what that one segment admitted: with steady traffic about
/// <c>PermitLimit × (1 + 1 / SegmentsPerWindow)</c>, at worst (everything in one segment) twice the
/// limit, the fixed window's bound. More segments tighten it, at a counter each.
/// </remarks>
public sealed class RedisSlidingWindowLimiter : RedisRateLimiter
{
    /// <summary>Creates the limiter for one partition.</summary>
    /// <param name="store">The shared Redis.</param>
    /// <param name="partition">Whose window: a client id, say; part of the key.</param>
    /// <param name="options">The window; validated here.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public RedisSlidingWindowLimiter(RedisStore store, string partition, SlidingWindowLimiterOptions options)
        : base(store, "sliding-window", partition, RedisScript.SlidingWindow, Validated(options).PermitLimit,
            [(long)(options.Window.TotalMicroseconds / options.SegmentsPerWindow), options.SegmentsPerWindow, options.PermitLimit],
            () => new SlidingWindowLimiter(options, store.Time))
    {
    }

    private static SlidingWindowLimiterOptions Validated(SlidingWindowLimiterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Window < TimeSpan.FromMilliseconds(options.SegmentsPerWindow))
        {
            throw new ArgumentException(
                $"{nameof(options.Window)} must be at least 1 ms per segment for a Redis limiter (was {options.Window} for {options.SegmentsPerWindow} segments).",
                nameof(options));
        }

        return options;
    }
}
