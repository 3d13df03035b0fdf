using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Backpressure.Redis;

/// <summary>
/// The Redis that limiters on several instances share, and how they use it. Create one per
/// connection and pass it to every Redis limiter: it tracks Redis's health for all of them, so an
/// outage is logged once (not once per request or per client) and counted in the metric
/// <c>backpressure.redis.unavailable</c>.
/// </summary>
/// <remarks>
/// A check that fails (connection error, server error) or outlasts <see cref="RedisStoreOptions.Timeout"/>
/// starts an outage. During it, one check per <see cref="RedisStoreOptions.ProbeInterval"/> tries Redis
/// again and the others go straight to the failure policy, so requests are not held up by a timeout
/// each. The first check that succeeds ends the outage.
/// </remarks>
public sealed class RedisStore
{
    private readonly Counter<long> _unavailable;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _policyTag;
    private long _outageSince;
    private long _nextProbe;

    /// <summary>Creates the store over <paramref name="connection"/>, which it does not own.</summary>
    /// <param name="connection">The multiplexer; keep <c>AbortOnConnectFail=false</c> so it reconnects by itself.</param>
    /// <param name="options">Validated here.</param>
    /// <param name="logger">Where outages are logged; none when null.</param>
    /// <param name="meterFactory">Creates the <c>Backpressure</c> meter; a meter of the store's own when null.</param>
    /// <param name="timeProvider">The clock for timeouts, probes and the application clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public RedisStore(
        IConnectionMultiplexer connection, RedisStoreOptions options, ILogger? logger = null, IMeterFactory? meterFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Connection = connection;
        Options = options;
        Time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        Meter meter = meterFactory?.Create(BackpressureMeter.Name) ?? new Meter(BackpressureMeter.Name);
        _unavailable = meter.CreateCounter<long>(
            "backpressure.redis.unavailable", "{decision}", "Limiter decisions taken by the failure policy because Redis was unreachable or too slow.");
        _policyTag = new(BackpressureMeter.FailurePolicyTag, options.FailurePolicy == RedisFailurePolicy.FailOpen ? "fail_open" : "fail_closed");
        meter.CreateObservableGauge("backpressure.redis.outage", () => IsAvailable ? 0 : 1, "{outage}", "1 while Redis is considered unavailable.");
    }

    /// <summary>The connection.</summary>
    public IConnectionMultiplexer Connection { get; }

    /// <summary>The options.</summary>
    public RedisStoreOptions Options { get; }

    /// <summary>False during an outage: from a failed check to the next one that succeeds.</summary>
    public bool IsAvailable => Volatile.Read(ref _outageSince) == 0;

    internal TimeProvider Time { get; }

    /// <summary>The refusal a fail-closed limiter gives during an outage: retry once the next probe may have found Redis back.</summary>
    internal RateLimitLease Unavailable() =>
        RedisLease.Unavailable(Options.ProbeInterval, "the shared rate-limit store (Redis) is unavailable");

    /// <summary>
    /// <c>AttemptAcquire</c> during an outage with no probe due: the failure policy's answer at once
    /// (the in-process <paramref name="fallback"/>'s, or a refusal). Null otherwise: the caller goes on.
    /// </summary>
    internal RateLimitLease? DecideDuringOutage(int permitCount, Func<RateLimiter> fallback) =>
        IsAvailable || IsProbeDue ? null
        : Options.FailurePolicy == RedisFailurePolicy.FailClosed ? Unavailable() : fallback().AttemptAcquire(permitCount);

    /// <summary><c>AcquireAsync</c> when Redis did not answer: the failure policy's answer.</summary>
    internal ValueTask<RateLimitLease> DecideWithoutRedisAsync(int permitCount, Func<RateLimiter> fallback, CancellationToken cancellationToken) =>
        Options.FailurePolicy == RedisFailurePolicy.FailClosed
            ? ValueTask.FromResult(Unavailable())
            : fallback().AcquireAsync(permitCount, cancellationToken);

    /// <summary>A key of one limiter: <c>{prefix:kind:partition}suffix</c>.</summary>
    internal RedisKey Key(string kind, string partition, string suffix = "") => $"{{{Options.KeyPrefix}:{kind}:{partition}}}{suffix}";

    /// <summary>The first script argument: empty for Redis's clock, else the application's in microseconds since the epoch.</summary>
    internal RedisValue ClockArgument() => Options.Clock == RedisClock.Server
        ? RedisValue.EmptyString
        : (Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    /// <summary>Runs a script within the timeout; null when Redis is unavailable (the caller then applies the policy).</summary>
    internal async Task<RedisDecision?> TryEvaluateAsync(RedisScript script, RedisKey[] keys, RedisValue[] arguments, CancellationToken cancellationToken)
    {
        if (!MayTry())
        {
            _unavailable.Add(1, _policyTag);
            return null;
        }

        try
        {
            RedisDecision decision = await script.EvaluateAsync(Connection.GetDatabase(), keys, arguments)
                .WaitAsync(Options.Timeout, Time, cancellationToken).ConfigureAwait(false);
            Recovered();
            return decision;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Failed(e);
            _unavailable.Add(1, _policyTag);
            return null;
        }
    }

    /// <summary>Runs a script whose answer only matters to Redis (a release, a renewal); failures count toward the outage.</summary>
    internal async Task<bool> TryRunAsync(RedisScript script, RedisKey[] keys, RedisValue[] arguments)
    {
        try
        {
            await script.EvaluateAsync(Connection.GetDatabase(), keys, arguments).WaitAsync(Options.Timeout, Time).ConfigureAwait(false);
            Recovered();
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Failed(e);
            return false;
        }
    }

    /// <summary>
    /// Runs every script once, as a no-op on a key of its own, so each is cached in Redis and a cold
    /// instance's first real checks are plain <c>EVALSHA</c>s that do not outlast the timeout (and
    /// fall to the failure policy). <c>SCRIPT LOAD</c> would do the same but needs admin rights.
    /// Call it at start-up. Returns false at once when the connection has no Redis, rather than
    /// queue commands and hold start-up for a timeout; the failure policy covers the checks until Redis answers.
    /// </summary>
    /// <exception cref="RedisException">Redis failed while running the scripts.</exception>
    public async Task<bool> WarmUpAsync(CancellationToken cancellationToken = default)
    {
        if (!Connection.IsConnected)
        {
            return false;
        }

        IDatabase database = Connection.GetDatabase();
        RedisValue clock = ClockArgument();
        (RedisScript Script, RedisValue[] Arguments)[] noOps =
        [
            (RedisScript.TokenBucket, [clock, 1, 1, 0]),
            (RedisScript.FixedWindow, [clock, 1_000_000, 1, 0]),
            (RedisScript.SlidingWindow, [clock, 1_000_000, 1, 1, 0]),
            (RedisScript.LeakyBucket, [clock, 1, 0, 0]),
            (RedisScript.GaugeAcquire, [clock, "warm-up", 0, 1, 1, 0]),
            (RedisScript.GaugeRelease, [clock, "warm-up"]),
            (RedisScript.GaugeRenew, [clock, 1]),
        ];
        foreach (var (script, arguments) in noOps)
        {
            // A key of each script's own: the scripts keep different types (string, hash, sorted set).
            RedisKey[] keys = [Key("warm-up", script.Name, ":a"), Key("warm-up", script.Name, ":b")];
            await script.EvaluateAsync(database, keys, arguments).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>During an outage, whether the next probe of Redis is due (without claiming it).</summary>
    internal bool IsProbeDue => Time.GetTimestamp() >= Volatile.Read(ref _nextProbe);

    private bool MayTry()
    {
        if (IsAvailable)
        {
            return true;
        }

        long now = Time.GetTimestamp();
        long next = Volatile.Read(ref _nextProbe);
        return now >= next && Interlocked.CompareExchange(ref _nextProbe, now + ProbeTicks(), next) == next;
    }

    private long ProbeTicks() => (long)(Options.ProbeInterval.TotalSeconds * Time.TimestampFrequency);

    private void Failed(Exception error)
    {
        long now = Math.Max(1, Time.GetTimestamp());
        if (Interlocked.CompareExchange(ref _outageSince, now, 0) == 0)
        {
            Volatile.Write(ref _nextProbe, now + ProbeTicks());
            RedisLog.Unavailable(_logger, Options.FailurePolicy, Options.Timeout.TotalMilliseconds, error);
        }
    }

    private void Recovered()
    {
        long since = Interlocked.Exchange(ref _outageSince, 0);
        if (since != 0)
        {
            double seconds = Time.GetElapsedTime(since).TotalSeconds;
            RedisLog.Restored(_logger, seconds);
        }
    }
}
