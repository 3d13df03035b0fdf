using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using StackExchange.Redis;

namespace Backpressure.Redis;

/// <summary>
/// <see cref="PressureGauge"/> shared through Redis: at most <see cref="PressureGaugeOptions.PermitLimit"/>
/// permits in flight across every instance, refused at once when full, with <c>RetryAfter</c>
/// estimated in the script as the in-process gauge estimates it (mean hold time less the oldest
/// holder's age). Each request is one permit.
/// </summary>
/// <remarks>
/// A permit cannot leak: each holder is kept in a sorted set scored by its lease expiry
/// (<see cref="RedisStoreOptions.GaugeLeaseTime"/>), which this instance renews every third of the
/// lease while the permit is held. An instance that dies, hangs or loses Redis stops renewing, and
/// its permits are dropped once their leases run out. Returning a permit is fire-and-forget: the
/// caller never waits on Redis to release, and a release lost with Redis is covered by the lease.
/// </remarks>
public sealed class RedisPressureGauge : RateLimiter
{
    private readonly RedisStore _store;
    private readonly RedisKey[] _keys;
    private readonly PressureGaugeOptions _options;
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentDictionary<string, HolderLease> _held = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly long _leaseMicroseconds;
    private ITimer? _renewal;
    private PressureGauge? _fallback;
    private long _next;
    private long _idleSince;
    private readonly LeaseCounters _counters;
    private bool _disposed;

    /// <summary>Creates the gauge.</summary>
    /// <param name="store">The shared Redis.</param>
    /// <param name="name">The gauge's name, shared by the instances that share it; part of the key.</param>
    /// <param name="options">The limit; validated here.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public RedisPressureGauge(RedisStore store, string name, PressureGaugeOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _options = options;
        _keys = [store.Key("gauge", name, ":holders"), store.Key("gauge", name, ":holding")];
        _leaseMicroseconds = (long)store.Options.GaugeLeaseTime.TotalMicroseconds;
        _counters = new LeaseCounters(options.PermitLimit);
        _idleSince = store.Time.GetTimestamp();
    }

    /// <summary>The most permits in flight across all instances.</summary>
    public int PermitLimit => _options.PermitLimit;

    /// <summary>Permits this instance holds now.</summary>
    public int HeldHere => _held.Count;

    /// <summary>The sorted set of holders in Redis.</summary>
    public RedisKey HoldersKey => _keys[0];

    /// <summary>Null while this instance holds a permit; otherwise how long since it last held one.</summary>
    public override TimeSpan? IdleDuration => _held.IsEmpty ? _store.Time.GetElapsedTime(Volatile.Read(ref _idleSince)) : null;

    /// <inheritdoc />
    /// <remarks><c>CurrentAvailablePermits</c> is what Redis said at this instance's last acquire.</remarks>
    public override RateLimiterStatistics? GetStatistics() => _counters.Statistics();

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        CheckPermits(permitCount);
        if (_store.DecideDuringOutage(permitCount, Fallback) is { } policy)
        {
            return Count(policy);
        }

        return RedisLease.Undecided;
    }

    /// <inheritdoc />
    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        CheckPermits(permitCount);
        string holder = $"{_instance}:{Interlocked.Increment(ref _next)}";
        RedisDecision? answer;
        try
        {
            answer = await _store.TryEvaluateAsync(
                RedisScript.GaugeAcquire, _keys,
                [_store.ClockArgument(), holder, _options.PermitLimit, _leaseMicroseconds, (long)_options.InitialHoldTimeEstimate.TotalMicroseconds, permitCount],
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The script may still run and admit a holder nobody will return: take it back now rather than after its lease.
            ReleaseInRedis(holder);
            throw;
        }

        if (answer is not { } decision)
        {
            ReleaseInRedis(holder);
            return Count(await _store.DecideWithoutRedisAsync(permitCount, Fallback, cancellationToken).ConfigureAwait(false));
        }

        _counters.Available(decision.Remaining);
        if (!decision.Admitted)
        {
            return Count(RedisLease.Refused(TimeSpan.FromMicroseconds(decision.Microseconds)));
        }

        if (permitCount == 0)
        {
            // There was room, and nothing was taken: nothing to return.
            return Count(RedisLease.Granted);
        }

        var lease = new HolderLease(this, holder) { Confirmed = _store.Time.GetTimestamp() };
        _held[holder] = lease;
        StartRenewing();
        return Count(lease);
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
            _renewal?.Dispose();
            _fallback?.Dispose();
        }

        base.Dispose(disposing);
    }

    private void CheckPermits(int permitCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, 1);
        ObjectDisposedException.ThrowIf(_disposed, this);
    }

    private RateLimiter Fallback()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _fallback ??= new PressureGauge(_options, _store.Time);
        }
    }

    private void StartRenewing()
    {
        lock (_gate)
        {
            if (_renewal is null && !_disposed)
            {
                TimeSpan every = _store.Options.GaugeLeaseTime / 3;
                _renewal = _store.Time.CreateTimer(_ => _ = RenewAsync(), null, every, every);
            }
        }
    }

    private async Task RenewAsync()
    {
        if (_held.IsEmpty)
        {
            return;
        }

        // A holder this instance confirmed within (most of) its lease cannot have run out in Redis: if Redis no longer
        // has it, Redis lost it, and it is restored ('+'). A margin of a tenth of the lease covers the round trip and clock skew.
        long now = _store.Time.GetTimestamp();
        TimeSpan restorable = _store.Options.GaugeLeaseTime * 0.9;
        HolderLease[] leases = [.. _held.Values];
        bool[] restore = [.. leases.Select(l => _store.Time.GetElapsedTime(Volatile.Read(ref l.Confirmed), now) < restorable)];
        RedisValue[] arguments =
        [
            _store.ClockArgument(), _leaseMicroseconds, .. leases.Select((l, i) => (RedisValue)(restore[i] ? "+" + l.Holder : l.Holder)),
        ];
        if (await _store.TryRunAsync(RedisScript.GaugeRenew, _keys, arguments).ConfigureAwait(false))
        {
            for (int i = 0; i < leases.Length; i++)
            {
                if (restore[i])
                {
                    Volatile.Write(ref leases[i].Confirmed, now);
                }
            }
        }
    }

    private void Return(HolderLease lease)
    {
        if (_held.TryRemove(new KeyValuePair<string, HolderLease>(lease.Holder, lease)))
        {
            Volatile.Write(ref _idleSince, _store.Time.GetTimestamp());
            ReleaseInRedis(lease.Holder);
        }
    }

    private void ReleaseInRedis(string holder) =>
        _ = _store.TryRunAsync(RedisScript.GaugeRelease, _keys, [_store.ClockArgument(), holder]);

    private RateLimitLease Count(RateLimitLease lease) => _counters.Count(lease);

    /// <summary>A permit held in Redis; returned once, on the first dispose.</summary>
    private sealed class HolderLease(RedisPressureGauge gauge, string holder) : RateLimitLease
    {
        private int _returned;

        // When Redis last confirmed this holder (its acquire, or a renewal that restored or kept it): a timestamp.
        public long Confirmed;

        public string Holder { get; } = holder;

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                gauge.Return(this);
            }

            base.Dispose(disposing);
        }
    }
}
