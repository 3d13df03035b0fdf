namespace Backpressure;

/// <summary>
/// Paces a sender to a fixed rate: event <c>n</c> is due <c>n / rate</c> seconds after the pacer
/// was created. A sender held back (by a full queue, a closed window, a stalled process) may catch
/// up by at most <c>burst</c> events at once; beyond that the schedule slips, so a stall never
/// turns into a flood. Go's <c>rate.Limiter.Wait</c> with a burst does the same for one waiter.
/// </summary>
/// <remarks>
/// Not thread-safe: one sender owns one pacer. A <see cref="System.Threading.RateLimiting.RateLimiter"/>
/// admits or refuses callers that arrive on their own; a pacer instead tells its one sender when to go,
/// down to a microsecond schedule at high rates (several events per timer tick are due at once).
/// </remarks>
public sealed class Pacer
{
    private static readonly TimeSpan ShortestNap = TimeSpan.FromMilliseconds(1);

    private readonly double _rate;
    private readonly long _burst;
    private readonly TimeProvider _time;
    private readonly long _start;
    private long _slipped;
    private long _issued;

    /// <summary>Creates a pacer whose schedule starts now.</summary>
    /// <param name="rate">Events per second, greater than zero.</param>
    /// <param name="burst">The most events due at once after a stall, at least 1; a tenth of a second's worth when null.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> or <paramref name="burst"/> is not positive.</exception>
    public Pacer(double rate, long? burst = null, TimeProvider? timeProvider = null)
    {
        if (!(rate > 0) || double.IsInfinity(rate))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The rate must be a positive number of events per second.");
        }

        _burst = burst ?? Math.Max(1, (long)(rate / 10));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_burst, nameof(burst));
        _rate = rate;
        _time = timeProvider ?? TimeProvider.System;
        _start = _time.GetTimestamp();
    }

    /// <summary>Events taken so far.</summary>
    public long Taken => _issued;

    /// <summary>Takes the events due now, at most <paramref name="most"/> (and the burst), and returns how many; 0 when none is due yet.</summary>
    public long TakeDue(long most = long.MaxValue)
    {
        // In whole ticks, so that an event due exactly now is not lost to rounding.
        long due = (long)(_time.GetElapsedTime(_start).Ticks * _rate / TimeSpan.TicksPerSecond) - _slipped;
        if (due - _issued > _burst)
        {
            _slipped += due - _issued - _burst;
            due = _issued + _burst;
        }

        long taken = Math.Clamp(due - _issued, 0, most);
        _issued += taken;
        return taken;
    }

    /// <summary>Waits until the next event is due and takes it.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public async ValueTask WaitTurnAsync(CancellationToken cancellationToken)
    {
        while (TakeDue(1) == 0)
        {
            await NapAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sleeps until about when the next event is due, at least a millisecond; takes nothing.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public Task NapAsync(CancellationToken cancellationToken)
    {
        TimeSpan next = TimeSpan.FromSeconds((_issued + _slipped + 1) / _rate) - _time.GetElapsedTime(_start);
        return Task.Delay(next > ShortestNap ? next : ShortestNap, _time, cancellationToken);
    }
}
