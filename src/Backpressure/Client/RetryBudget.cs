namespace Backpressure.Client;

/// <summary>
/// A retry budget, after Finagle's: retries may be at most <see cref="RetryBudgetOptions.RetryRatio"/> of the requests
/// sent over a sliding window (plus a small floor), so however a service fails, retries can add at most that share to
/// the load. Without one, clients that retry three times turn an overload into four times the load: a retry storm.
/// </summary>
/// <remarks>Thread-safe (one lock). One budget per destination.</remarks>
public sealed class RetryBudget
{
    private const int Buckets = 20;

    private readonly TimeProvider _time;
    private readonly double _ratio;
    private readonly int _floor;
    private readonly SlidingCount _requests;
    private readonly SlidingCount _retries;
    private readonly Lock _gate = new();

    /// <summary>Creates a budget.</summary>
    /// <param name="options">The share, floor and window; null for the defaults. Validated here.</param>
    /// <param name="timeProvider">The clock of the window; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public RetryBudget(RetryBudgetOptions? options = null, TimeProvider? timeProvider = null)
    {
        options ??= new RetryBudgetOptions();
        options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _ratio = options.RetryRatio;
        _floor = options.MinRetriesPerWindow;
        _requests = new SlidingCount(options.Window, Buckets, _time);
        _retries = new SlidingCount(options.Window, Buckets, _time);
    }

    /// <summary>Counts a first attempt (not a retry).</summary>
    public void RecordRequest()
    {
        lock (_gate)
        {
            _requests.Add(_time.GetTimestamp());
        }
    }

    /// <summary>Takes one retry from the budget: false when the budget is spent, and the caller must not retry.</summary>
    public bool TryRetry()
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            if (_retries.Sum(now) + 1 > _floor + (_ratio * _requests.Sum(now)))
            {
                return false;
            }

            _retries.Add(now);
            return true;
        }
    }
}
