using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Backpressure.Redis.Tests;

/// <summary>Three instances, each with its own connection, hammering one limit at once: together they admit what one would.</summary>
public sealed class RedisSharedLimitTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _prefix = $"shared{Guid.NewGuid():N}";
    private readonly List<ConnectionMultiplexer> _connections = [];

    public async Task InitializeAsync()
    {
        for (int i = 0; i < 3; i++)
        {
            _connections.Add(await redis.ConnectPatientlyAsync());
        }
    }

    public async Task DisposeAsync()
    {
        foreach (ConnectionMultiplexer connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task TokenBucket_ThreeInstancesAdmitExactlyTheBucket()
    {
        // One token an hour: within the test's few seconds nothing refills, so exactly the 50 in the bucket pass.
        var options = new TokenBucketLimiterOptions { TokenLimit = 50, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromHours(1) };

        int admitted = await HammerAsync(store => new RedisTokenBucketLimiter(store, "client-a", options), perInstance: 100);

        Assert.Equal(50, admitted);
    }

    [Fact]
    public async Task FixedWindow_ThreeInstancesAdmitExactlyTheLimit()
    {
        var options = new FixedWindowLimiterOptions { PermitLimit = 40, Window = TimeSpan.FromSeconds(10) };

        int admitted = await HammerAsync(store => new RedisFixedWindowLimiter(store, "client-a", options), perInstance: 100, frozenClock: true);

        Assert.Equal(40, admitted);
    }

    [Fact]
    public async Task SlidingWindow_ThreeInstancesAdmitExactlyTheLimit()
    {
        var options = new SlidingWindowLimiterOptions { PermitLimit = 40, Window = TimeSpan.FromSeconds(10), SegmentsPerWindow = 5 };

        int admitted = await HammerAsync(store => new RedisSlidingWindowLimiter(store, "client-a", options), perInstance: 100, frozenClock: true);

        Assert.Equal(40, admitted);
    }

    [Fact]
    public async Task Gauge_ThreeInstancesHoldExactlyTheLimit_AndReleasedPermitsCanBeTakenAgain()
    {
        var options = new PressureGaugeOptions { PermitLimit = 7 };
        var gauges = Stores().Select(store => new RedisPressureGauge(store, "gauge-a", options)).ToList();

        var leases = await Task.WhenAll(gauges.SelectMany(g => Enumerable.Range(0, 10).Select(_ => Task.Run(() => g.AcquireAsync().AsTask()))));
        int held = leases.Count(l => l.IsAcquired);
        foreach (RateLimitLease lease in leases)
        {
            lease.Dispose();
        }

        await WaitUntilAsync(async () => await _connections[0].GetDatabase().SortedSetLengthAsync(gauges[0].HoldersKey) == 0);
        var again = await Task.WhenAll(gauges.SelectMany(g => Enumerable.Range(0, 5).Select(_ => Task.Run(() => g.AcquireAsync().AsTask()))));

        Assert.Equal(7, held);
        Assert.All(leases.Where(l => !l.IsAcquired), l => Assert.True(l.TryGetMetadata(MetadataName.RetryAfter, out _)));
        Assert.Equal(7, again.Count(l => l.IsAcquired));
        foreach (RateLimitLease lease in again)
        {
            lease.Dispose();
        }

        gauges.ForEach(g => g.Dispose());
    }

    [Fact]
    public async Task EveryKeyExpires_SoRedisMemoryDoesNotGrowWithClientsEverSeen()
    {
        RedisStore store = Stores().First();
        IDatabase db = _connections[0].GetDatabase();
        var limiters = new RedisRateLimiter[]
        {
            new RedisTokenBucketLimiter(store, "ttl", new TokenBucketLimiterOptions { TokenLimit = 5, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromSeconds(1) }),
            new RedisFixedWindowLimiter(store, "ttl", new FixedWindowLimiterOptions { PermitLimit = 5, Window = TimeSpan.FromSeconds(1) }),
            new RedisSlidingWindowLimiter(store, "ttl", new SlidingWindowLimiterOptions { PermitLimit = 5, Window = TimeSpan.FromSeconds(1) }),
            new RedisLeakyBucketLimiter(store, "ttl", new LeakyBucketLimiterOptions { PermitsPerPeriod = 10, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 2 }),
        };
        using var gauge = new RedisPressureGauge(store, "ttl", new PressureGaugeOptions { PermitLimit = 2 });

        foreach (RedisRateLimiter limiter in limiters)
        {
            using RateLimitLease lease = await limiter.AcquireAsync();
            TimeSpan? ttl = await db.KeyTimeToLiveAsync(limiter.Key);
            // At most the window (1 s) plus the second of margin for a lagging application clock.
            Assert.True(ttl is { } t && t > TimeSpan.Zero && t <= TimeSpan.FromSeconds(2.1), $"{limiter.GetType().Name}: TTL {ttl}");
            limiter.Dispose();
        }

        using (RateLimitLease held = await gauge.AcquireAsync())
        {
            TimeSpan? ttl = await db.KeyTimeToLiveAsync(gauge.HoldersKey);
            Assert.True(ttl is { } t && t > TimeSpan.Zero && t <= (2 * store.Options.GaugeLeaseTime) + TimeSpan.FromSeconds(1), $"gauge: TTL {ttl}");
        }
    }

    [Fact]
    public async Task AttemptAcquire_NeverWaitsOnRedis_ItAsksForTheAsyncPathUntilARefusalIsKnown()
    {
        RedisStore store = Stores().First();
        using var limiter = new RedisFixedWindowLimiter(store, "attempt", new FixedWindowLimiterOptions { PermitLimit = 1, Window = TimeSpan.FromHours(1) });

        using RateLimitLease undecided = limiter.AttemptAcquire();
        using RateLimitLease first = await limiter.AcquireAsync();
        using RateLimitLease second = await limiter.AcquireAsync();
        using RateLimitLease known = limiter.AttemptAcquire();

        Assert.False(undecided.IsAcquired);
        Assert.Empty(undecided.MetadataNames);
        Assert.True(first.IsAcquired || second.IsAcquired);
        Assert.False(known.IsAcquired);
        Assert.True(known.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter) && retryAfter > TimeSpan.Zero);
    }

    [Fact]
    public async Task WarmUp_LoadsEveryScript_AndAScriptRedisForgotIsSentAgain()
    {
        await using ConnectionMultiplexer admin = await redis.ConnectAsync(o => o.AllowAdmin = true);
        var store = new RedisStore(admin, new RedisStoreOptions { KeyPrefix = _prefix });
        IServer server = admin.GetServers().Single();
        await server.ScriptFlushAsync();

        bool warmed = await store.WarmUpAsync();
        bool[] loaded = await Task.WhenAll(RedisScript.All.Select(s => server.ScriptExistsAsync(s.Text)));
        await server.ScriptFlushAsync();
        using var limiter = new RedisFixedWindowLimiter(store, "forgotten", new FixedWindowLimiterOptions { PermitLimit = 1, Window = TimeSpan.FromHours(1) });
        using RateLimitLease afterFlush = await limiter.AcquireAsync();

        Assert.True(warmed);
        Assert.All(loaded, Assert.True);
        Assert.True(afterFlush.IsAcquired && store.IsAvailable, "NOSCRIPT should be answered by sending the script, not by the failure policy");
    }

    private IEnumerable<RedisStore> Stores(TimeProvider? time = null) => _connections.Select(c => new RedisStore(
        c, new RedisStoreOptions { KeyPrefix = _prefix, Clock = time is null ? RedisClock.Server : RedisClock.Application, Timeout = TimeSpan.FromSeconds(5) },
        timeProvider: time));

    private async Task<int> HammerAsync(Func<RedisStore, RateLimiter> create, int perInstance, bool frozenClock = false)
    {
        // Windows are aligned to the epoch; a frozen application clock keeps a window boundary from falling inside the test.
        var limiters = Stores(frozenClock ? new FakeTimeProvider() : null).Select(create).ToList();
        var attempts = limiters.SelectMany(l => Enumerable.Range(0, perInstance).Select(_ => Task.Run(async () =>
        {
            using RateLimitLease lease = await l.AcquireAsync();
            return lease.IsAcquired;
        })));
        bool[] results = await Task.WhenAll(attempts);
        limiters.ForEach(l => l.Dispose());
        return results.Count(admitted => admitted);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (int i = 0; i < 100 && !await condition(); i++)
        {
            await Task.Delay(20);
        }
    }
}
