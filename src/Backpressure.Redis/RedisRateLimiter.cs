using System.Threading.RateLimiting;
using StackExchange.Redis;

namespace Backpressure.Redis;

/// <summary>
/// The base of the Redis rate limiters: one partition's limit (one client's, say) kept in Redis and
/// decided by one atomic script per check, so every instance sharing the Redis shares the limit.
/// Refusals carry <see cref="MetadataName.RetryAfter"/> computed by the script.
/// </summary>
/// <remarks>
/// <para>
/// <b>Never blocks on Redis.</b> <see cref="RateLimiter.AttemptAcquire"/> decides only what it can
/// without Redis: during an outage it applies the failure policy, and while an earlier refusal's
/// <c>RetryAfter</c> has not run out it refuses the same request again (other instances can only use
/// permits up, never give them back sooner), which also spares Redis a round trip per refusal. An
/// admission on this instance forgets the refusal; admissions on others cannot be seen, so there the
/// repeated <c>RetryAfter</c> may be short by what they took, and the retry is refused with a fresh one. Otherwise it refuses with no metadata, which tells a caller such as ASP.NET
/// Core's rate-limiting middleware to go on to <see cref="RateLimiter.AcquireAsync"/>, which asks Redis.
/// </para>
/// <para>
/// <b>Without Redis.</b> Under <see cref="RedisFailurePolicy.FailOpen"/> decisions fall to an
/// in-process limiter of the same kind and limits, created on first need; under
/// <see cref="RedisFailurePolicy.FailClosed"/> they are refusals carrying <see cref="LimiterMetadata.Unavailable"/>.
/// </para>
/// </remarks>
public abstract class RedisRateLimiter : RateLimiter
{
    private readonly RedisStore _store;
    private readonly RedisScript _script;
    private readonly RedisKey[] _keys;
    private readonly RedisValue[] _parameters;
    private readonly Func<RateLimiter> _createFallback;
    private readonly Lock _gate = new();
    private RateLimiter? _fallback;
    private long _lastUsed;
    private long _refusedUntil;
    private int _refusedPermits = int.MaxValue;
    private readonly LeaseCounters _counters;
    private bool _disposed;

    private protected RedisRateLimiter(
        RedisStore store, string kind, string partition, RedisScript script, int maxPermits, RedisValue[] parameters, Func<RateLimiter> createFallback)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(partition);
        _store = store;
        _script = script;
        _keys = [store.Key(kind, partition)];
        _parameters = parameters;
        _createFallback = createFallback;
        MaxPermits = maxPermits;
        _counters = new LeaseCounters(maxPermits);
        _lastUsed = store.Time.GetTimestamp();
    }

    /// <summary>The most permits one request may ask for.</summary>
    public int MaxPermits { get; }

    /// <summary>The Redis key holding this partition's state.</summary>
    public RedisKey Key => _keys[0];

    /// <summary>The time since this instance last checked; its state lives in Redis, so an idle instance can be dropped at any time.</summary>
    public override TimeSpan? IdleDuration => _store.Time.GetElapsedTime(Volatile.Read(ref _lastUsed));

    /// <inheritdoc />
    /// <remarks><c>CurrentAvailablePermits</c> is what Redis said at this instance's last check.</remarks>
    public override RateLimiterStatistics? GetStatistics() => _counters.Statistics();

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        CheckPermits(permitCount);
        if (_store.DecideDuringOutage(permitCount, Fallback) is { } policy)
        {
            return Count(policy);
        }

        // Not counted: it is not a decision, only "ask asynchronously" (and, during an outage, "probe Redis").
        return TryDecideLocally(permitCount) is { } local ? Count(local) : RedisLease.Undecided;
    }

    /// <inheritdoc />
    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        CheckPermits(permitCount);
        if (TryDecideLocally(permitCount) is { } local)
        {
            return Count(local);
        }

        long asked = _store.Time.GetTimestamp();
        RedisDecision? answer = await _store.TryEvaluateAsync(_script, _keys, [_store.ClockArgument(), .. _parameters, permitCount], cancellationToken)
            .ConfigureAwait(false);
        if (answer is not { } decision)
        {
            return Count(await _store.DecideWithoutRedisAsync(permitCount, Fallback, cancellationToken).ConfigureAwait(false));
        }

        _counters.Available(decision.Remaining);
        if (!decision.Admitted)
        {
            TimeSpan retryAfter = TimeSpan.FromMicroseconds(decision.Microseconds);
            RememberRefusal(permitCount, retryAfter);
            return Count(RedisLease.Refused(retryAfter));
        }

        Forget();
        // Admitted with a turn later (a leaky bucket's queue): the slot is taken in Redis, so waiting it out is all that is left.
        // The turn is counted from when we asked, not from when the answer was read: a continuation that runs late must not
        // push the turn back by its own lateness. With the application's clock the script's "now" is exactly that moment; with Redis's
        // it is at most one network hop later, so a turn may come that much early, never a whole round trip late.
        TimeSpan untilTurn = TimeSpan.FromMicroseconds(decision.Microseconds) - _store.Time.GetElapsedTime(asked);
        if (untilTurn > TimeSpan.Zero)
        {
            await Task.Delay(untilTurn, _store.Time, cancellationToken).ConfigureAwait(false);
        }

        return Count(RedisLease.Granted);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _fallback?.Dispose();
        }

        base.Dispose(disposing);
    }

    private void CheckPermits(int permitCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, MaxPermits);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Volatile.Write(ref _lastUsed, _store.Time.GetTimestamp());
    }

    private RateLimitLease? TryDecideLocally(int permitCount)
    {
        // Most checks remember no refusal: they skip the lock.
        if (!_store.IsAvailable || Volatile.Read(ref _refusedUntil) == 0)
        {
            return null;
        }

        lock (_gate)
        {
            long left = _refusedUntil - _store.Time.GetTimestamp();
            // Only for the same count: a larger request may have to wait longer than the refusal said.
            return left > 0 && permitCount == _refusedPermits
                ? RedisLease.Refused(_store.Time.GetElapsedTime(0, left))
                : null;
        }
    }

    private void RememberRefusal(int permitCount, TimeSpan retryAfter)
    {
        lock (_gate)
        {
            _refusedUntil = Math.Max(1, _store.Time.GetTimestamp() + (long)(retryAfter.TotalSeconds * _store.Time.TimestampFrequency));
            _refusedPermits = permitCount;
        }
    }

    // An admission here uses permits up, so a remembered refusal would now promise too short a wait.
    private void Forget()
    {
        if (Volatile.Read(ref _refusedUntil) == 0)
        {
            return;
        }

        lock (_gate)
        {
            _refusedUntil = 0;
        }
    }

    private RateLimiter Fallback()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _fallback ??= _createFallback();
        }
    }

    private RateLimitLease Count(RateLimitLease lease) => _counters.Count(lease);
}
