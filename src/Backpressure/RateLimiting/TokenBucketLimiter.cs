namespace Backpressure.RateLimiting;

/// <summary>
/// A token bucket that refills continuously (like Go's <c>x/time/rate</c>): each permit takes a
/// token; tokens come back at <see cref="TokenBucketLimiterOptions.TokensPerPeriod"/> per
/// <see cref="TokenBucketLimiterOptions.ReplenishmentPeriod"/> up to
/// <see cref="TokenBucketLimiterOptions.TokenLimit"/>. Over any span of time <c>t</c> it admits at
/// most <c>TokenLimit + rate × t</c>. A refusal's <c>RetryAfter</c> is the time until the missing
/// tokens have refilled, rounded up to a tick.
/// </summary>
public sealed class TokenBucketLimiter : ClockedRateLimiter
{
    // Credit is kept in integers: one token is worth `_period` units and every tick of time adds
    // `_rate` units, so refills and waits are exact with no floating-point drift.
    private readonly long _period;
    private readonly long _rate;
    private readonly long _capacity;
    private long _credit;
    private long _updated;
    private long _fullAgainAt;

    /// <summary>Creates the limiter, its bucket full.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public TokenBucketLimiter(TokenBucketLimiterOptions options, TimeProvider? timeProvider = null)
        : base(Validated(options).TokenLimit, timeProvider)
    {
        _period = options.ReplenishmentPeriod.Ticks;
        _rate = options.TokensPerPeriod;
        _capacity = checked(options.TokenLimit * _period);
        _credit = _capacity;
    }

    /// <inheritdoc />
    private protected override long TryAdmit(long now, int permits)
    {
        Refill(now);
        long needed = permits * _period;
        if (_credit >= needed)
        {
            _credit -= needed;
            _fullAgainAt = now + CeilingDivide(_capacity - _credit, _rate);
            return 0;
        }

        return CeilingDivide(needed - _credit, _rate);
    }

    /// <inheritdoc />
    private protected override long AvailablePermits(long now)
    {
        Refill(now);
        return _credit / _period;
    }

    /// <inheritdoc />
    private protected override TimeSpan? IdleFor(long now) => TimeSpan.FromTicks(now - _fullAgainAt);

    private void Refill(long now)
    {
        long elapsed = now - _updated;
        if (elapsed <= 0)
        {
            return;
        }

        long toFull = CeilingDivide(_capacity - _credit, _rate);
        _credit = elapsed >= toFull ? _capacity : _credit + (elapsed * _rate);
        _updated = now;
    }

    private static long CeilingDivide(long value, long divisor) => (value + divisor - 1) / divisor;

    private static TokenBucketLimiterOptions Validated(TokenBucketLimiterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }
}
