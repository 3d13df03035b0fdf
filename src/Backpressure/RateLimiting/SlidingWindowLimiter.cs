namespace Backpressure.RateLimiting;

/// <summary>
/// At most <see cref="SlidingWindowLimiterOptions.PermitLimit"/> permits within the last
/// <see cref="SlidingWindowLimiterOptions.SegmentsPerWindow"/> segments (one window's length),
/// counted per segment: smoother than a fixed window, and never more than the limit in any
/// window-length span that starts on a segment boundary. A refusal's <c>RetryAfter</c> is the time
/// until enough of the oldest segments have slid out of the window for the request to fit.
/// </summary>
public sealed class SlidingWindowLimiter : ClockedRateLimiter
{
    private readonly int _limit;
    private readonly long _segment;
    private readonly int[] _counts;
    private long _current;
    private long _lastAdmittedSegment = -1;
    private int _total;

    /// <summary>Creates the limiter.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public SlidingWindowLimiter(SlidingWindowLimiterOptions options, TimeProvider? timeProvider = null)
        : base(Validated(options).PermitLimit, timeProvider)
    {
        _limit = options.PermitLimit;
        _segment = options.Window.Ticks / options.SegmentsPerWindow;
        _counts = new int[options.SegmentsPerWindow];
    }

    /// <inheritdoc />
    private protected override long TryAdmit(long now, int permits)
    {
        long segment = Slide(now);
        if (_total + permits <= _limit)
        {
            _counts[segment % _counts.Length] += permits;
            _total += permits;
            _lastAdmittedSegment = segment;
            return 0;
        }

        // The oldest segment still in the window is segment - S + 1; segment j leaves it when
        // segment j + S begins.
        int excess = _total + permits - _limit;
        int freed = 0;
        for (long j = segment - _counts.Length + 1; j <= segment; j++)
        {
            freed += j < 0 ? 0 : _counts[j % _counts.Length];
            if (freed >= excess)
            {
                return ((j + _counts.Length) * _segment) - now;
            }
        }

        throw new InvalidOperationException("Unreachable: the window holds every admitted permit.");
    }

    /// <inheritdoc />
    private protected override long AvailablePermits(long now)
    {
        Slide(now);
        return _limit - _total;
    }

    /// <inheritdoc />
    private protected override TimeSpan? IdleFor(long now) =>
        TimeSpan.FromTicks(now - (_lastAdmittedSegment < 0 ? 0 : (_lastAdmittedSegment + _counts.Length) * _segment));

    private long Slide(long now)
    {
        long segment = now / _segment;
        for (long k = Math.Max(_current + 1, segment - _counts.Length + 1); k <= segment; k++)
        {
            int slot = (int)(k % _counts.Length);
            _total -= _counts[slot];
            _counts[slot] = 0;
        }

        _current = Math.Max(_current, segment);
        return segment;
    }

    private static SlidingWindowLimiterOptions Validated(SlidingWindowLimiterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }
}
