namespace Backpressure.RateLimiting;

/// <summary>
/// At most <see cref="FixedWindowLimiterOptions.PermitLimit"/> permits in each window of
/// <see cref="FixedWindowLimiterOptions.Window"/>, windows back to back from the limiter's creation.
/// Simple, but up to twice the limit can pass within one window's length across a boundary.
/// A refusal's <c>RetryAfter</c> is the time left in the current window.
/// </summary>
public sealed class FixedWindowLimiter : ClockedRateLimiter
{
    private readonly int _limit;
    private readonly long _window;
    private long _windowIndex = -1;
    private long _lastAdmittedWindow = -1;
    private int _count;

    /// <summary>Creates the limiter.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public FixedWindowLimiter(FixedWindowLimiterOptions options, TimeProvider? timeProvider = null)
        : base(Validated(options).PermitLimit, timeProvider)
    {
        _limit = options.PermitLimit;
        _window = options.Window.Ticks;
    }

    /// <inheritdoc />
    private protected override long TryAdmit(long now, int permits)
    {
        long index = Roll(now);
        if (_count + permits <= _limit)
        {
            _count += permits;
            _lastAdmittedWindow = index;
            return 0;
        }

        return ((index + 1) * _window) - now;
    }

    /// <inheritdoc />
    private protected override long AvailablePermits(long now)
    {
        Roll(now);
        return _limit - _count;
    }

    /// <inheritdoc />
    private protected override TimeSpan? IdleFor(long now) =>
        TimeSpan.FromTicks(now - (_lastAdmittedWindow < 0 ? 0 : (_lastAdmittedWindow + 1) * _window));

    private long Roll(long now)
    {
        long index = now / _window;
        if (index != _windowIndex)
        {
            _windowIndex = index;
            _count = 0;
        }

        return index;
    }

    private static FixedWindowLimiterOptions Validated(FixedWindowLimiterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }
}
