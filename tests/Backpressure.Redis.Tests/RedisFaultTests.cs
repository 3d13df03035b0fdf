using System.Diagnostics;
using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using StackExchange.Redis;

namespace Backpressure.Redis.Tests;

/// <summary>Redis killed and started again under live limiters, and a gauge holder's instance dying; real time, generous bounds.</summary>
public sealed class RedisFaultTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly FixedWindowLimiterOptions ThreeAnHour = new() { PermitLimit = 3, Window = TimeSpan.FromHours(1) };

    [Fact]
    public async Task FailOpen_WhileRedisIsDown_TheLocalLimiterDecides_TheOutageIsLoggedOnceAndCounted_AndLimitsAreSharedAgainWhenItIsBack()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var unavailable = new MetricCollector<long>(meters, "Backpressure", "backpressure.redis.unavailable");
        var logger = new FakeLogger();
        await using ConnectionMultiplexer connection = await WarmConnectionAsync();
        var store = new RedisStore(connection, QuickOptions(RedisFailurePolicy.FailOpen), logger, meters);
        using var limiter = new RedisFixedWindowLimiter(store, "open", ThreeAnHour);

        int before = await CountAdmittedAsync(limiter, 3);
        await redis.KillAsync();
        var clock = Stopwatch.StartNew();
        int during = await CountAdmittedAsync(limiter, 10);
        TimeSpan tenDecisions = clock.Elapsed;
        bool availableDuring = store.IsAvailable;
        int warningsDuringOutage = logger.Collector.GetSnapshot().Count(r => r.Level == LogLevel.Warning);
        await redis.StartAsync();
        bool back = await WaitUntilAsync(async () =>
        {
            using RateLimitLease probe = await limiter.AcquireAsync();
            return store.IsAvailable;
        });
        using RateLimitLease afterwards = await limiter.AcquireAsync();
        bool sharedAgain = await connection.GetDatabase().KeyExistsAsync(limiter.Key);

        Assert.Equal(3, before);
        Assert.Equal(3, during);
        Assert.False(availableDuring);
        Assert.True(tenDecisions < TimeSpan.FromSeconds(10), $"ten decisions during the outage took {tenDecisions}");
        Assert.True(back, "the store never saw Redis again");
        Assert.True(sharedAgain, "after the outage the window's count should be kept in Redis again");
        Assert.Equal(1, warningsDuringOutage);
        Assert.Contains(logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Information && r.Message.Contains("available", StringComparison.Ordinal));
        AssertEachOutageLoggedOnce(logger.Collector.GetSnapshot());
        Assert.True(unavailable.GetMeasurementSnapshot().EvaluateAsCounter() >= 10);
    }

    [Fact]
    public async Task FailClosed_WhileRedisIsDown_RefusesWithUnavailableAndTheProbeIntervalAsRetryAfter()
    {
        await using ConnectionMultiplexer connection = await WarmConnectionAsync();
        var store = new RedisStore(connection, QuickOptions(RedisFailurePolicy.FailClosed));
        using var limiter = new RedisFixedWindowLimiter(store, "closed", ThreeAnHour);
        using var gauge = new RedisPressureGauge(store, "closed", new PressureGaugeOptions { PermitLimit = 5 });

        await redis.KillAsync();
        try
        {
            using RateLimitLease refused = await limiter.AcquireAsync();
            using RateLimitLease attempted = limiter.AttemptAcquire();
            using RateLimitLease gaugeRefused = await gauge.AcquireAsync();

            foreach (RateLimitLease lease in new[] { refused, attempted, gaugeRefused })
            {
                Assert.False(lease.IsAcquired);
                Assert.True(lease.TryGetMetadata(LimiterMetadata.Unavailable, out string? why) && why!.Contains("Redis", StringComparison.Ordinal));
                Assert.True(lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
                Assert.Equal(store.Options.ProbeInterval, retryAfter);
            }
        }
        finally
        {
            await redis.StartAsync();
        }
    }

    [Fact]
    public async Task Gauge_ALiveHolderKeepsItsPermitByRenewing_AndADeadOnesPermitFreesAfterItsLease()
    {
        var options = new RedisStoreOptions { KeyPrefix = $"fault{Guid.NewGuid():N}", GaugeLeaseTime = TimeSpan.FromMilliseconds(600), Timeout = TimeSpan.FromSeconds(2) };
        var one = new PressureGaugeOptions { PermitLimit = 1 };
        ConnectionMultiplexer holderConnection = await redis.ConnectPatientlyAsync();
        await using ConnectionMultiplexer otherConnection = await redis.ConnectPatientlyAsync();
        var holder = new RedisPressureGauge(new RedisStore(holderConnection, options), "one", one);
        using var other = new RedisPressureGauge(new RedisStore(otherConnection, options), "one", one);

        RateLimitLease held = await holder.AcquireAsync();
        await Task.Delay(options.GaugeLeaseTime * 3);
        using RateLimitLease whileRenewed = await other.AcquireAsync();

        // The holder's instance dies: no renewal, no release; its lease is never disposed.
        holder.Dispose();
        await holderConnection.DisposeAsync();
        using RateLimitLease rightAfter = await other.AcquireAsync();
        var clock = Stopwatch.StartNew();
        bool freed = await WaitUntilAsync(async () =>
        {
            using RateLimitLease attempt = await other.AcquireAsync();
            return attempt.IsAcquired;
        });

        Assert.True(held.IsAcquired);
        Assert.False(whileRenewed.IsAcquired);
        Assert.False(rightAfter.IsAcquired);
        Assert.True(freed, "the dead holder's permit never came back");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the permit came back only after {clock.Elapsed}");
    }

    [Fact]
    public async Task AHungRedis_IsAnsweredByTheFailurePolicyWithinTheTimeout_AndSharedAgainSoonAfterItContinues()
    {
        await using ConnectionMultiplexer connection = await WarmConnectionAsync();
        var store = new RedisStore(connection, QuickOptions(RedisFailurePolicy.FailOpen));
        using var limiter = new RedisFixedWindowLimiter(store, "hung", ThreeAnHour);
        Assert.Equal(3, await CountAdmittedAsync(limiter, 3));

        redis.Pause();
        var slowest = TimeSpan.Zero;
        int during;
        try
        {
            during = 0;
            for (int i = 0; i < 20; i++)
            {
                var one = Stopwatch.StartNew();
                using RateLimitLease lease = await limiter.AcquireAsync();
                slowest = one.Elapsed > slowest ? one.Elapsed : slowest;
                during += lease.IsAcquired ? 1 : 0;
            }
        }
        finally
        {
            redis.Resume();
        }

        var recovery = Stopwatch.StartNew();
        bool back = await WaitUntilAsync(async () =>
        {
            using RateLimitLease probe = await limiter.AcquireAsync();
            return store.IsAvailable;
        });

        // The local limiter (three an hour, fresh) decides while Redis hangs: nobody waits longer than the timeout.
        Assert.Equal(3, during);
        Assert.True(slowest < store.Options.Timeout + TimeSpan.FromSeconds(1), $"a decision took {slowest} with a {store.Options.Timeout} timeout");
        Assert.True(back, "the store never saw Redis again");
        Assert.True(recovery.Elapsed < TimeSpan.FromSeconds(10), $"Redis answered again only after {recovery.Elapsed}");
    }

    [Fact]
    public async Task AFlushedRedis_RestoresTheGaugesLiveHolders_SoThePermitsAreNotHandedOutTwice()
    {
        // A lease of 3 s: renewed every second, and a holder stays restorable for 2.7 s after its last confirmation, so
        // a timer that runs late on a loaded machine does not make the holders look expired.
        var options = new RedisStoreOptions { KeyPrefix = $"flush{Guid.NewGuid():N}", GaugeLeaseTime = TimeSpan.FromSeconds(3), Timeout = TimeSpan.FromSeconds(2) };
        var three = new PressureGaugeOptions { PermitLimit = 3 };
        await using ConnectionMultiplexer holderConnection = await redis.ConnectPatientlyAsync();
        await using ConnectionMultiplexer otherConnection = await redis.ConnectPatientlyAsync(o => o.AllowAdmin = true);
        using var holder = new RedisPressureGauge(new RedisStore(holderConnection, options), "flushed", three);
        using var other = new RedisPressureGauge(new RedisStore(otherConnection, options), "flushed", three);
        RateLimitLease[] held = [await holder.AcquireAsync(), await holder.AcquireAsync(), await holder.AcquireAsync()];

        // Redis loses everything; within a renewal (a third of the lease) the holder's instance puts its holders back.
        await otherConnection.GetServer(otherConnection.GetEndPoints()[0]).FlushAllDatabasesAsync();
        await Task.Delay(options.GaugeLeaseTime / 2);
        using RateLimitLease afterRestore = await other.AcquireAsync();
        long holdersInRedis = await otherConnection.GetDatabase().SortedSetLengthAsync(holder.HoldersKey);
        foreach (RateLimitLease lease in held)
        {
            lease.Dispose();
        }

        bool freed = await WaitUntilAsync(async () =>
        {
            using RateLimitLease attempt = await other.AcquireAsync();
            return attempt.IsAcquired;
        });

        Assert.All(held, l => Assert.True(l.IsAcquired));
        Assert.Equal(3, holdersInRedis);
        Assert.False(afterRestore.IsAcquired);
        Assert.True(freed, "the restored permits were not returned");
        Assert.Equal(0, await otherConnection.GetDatabase().SortedSetLengthAsync(holder.HoldersKey));
    }

    [Fact]
    public async Task AFlushedRedis_GivesARateLimitAtMostOneFreshWindow()
    {
        await using ConnectionMultiplexer connection = await redis.ConnectPatientlyAsync(o => o.AllowAdmin = true);
        var store = new RedisStore(connection, new RedisStoreOptions { KeyPrefix = $"flush{Guid.NewGuid():N}", Timeout = TimeSpan.FromSeconds(30) });
        using var limiter = new RedisFixedWindowLimiter(store, "flushed", ThreeAnHour);

        int before = await CountAdmittedAsync(limiter, 5);
        await connection.GetServer(connection.GetEndPoints()[0]).FlushAllDatabasesAsync();
        // This instance remembers the refusal until its window ends; another instance (or this one after a restart) does not.
        int afterSameInstance = await CountAdmittedAsync(limiter, 5);
        using var another = new RedisFixedWindowLimiter(store, "flushed", ThreeAnHour);
        int afterAnotherInstance = await CountAdmittedAsync(another, 5);

        // The count was lost with the data: the window starts again, once. Nothing more is admitted than one fresh window.
        Assert.Equal(3, before);
        Assert.Equal(0, afterSameInstance);
        Assert.Equal(3, afterAnotherInstance);
        Assert.True(store.IsAvailable);
    }

    [Fact]
    public async Task APasswordInTheConfigurationString_ReachesRedis_AndAWrongOneIsAnOutageTheFailurePolicyAnswers()
    {
        var secured = new RedisServer("s3cret-pass");
        await secured.InitializeAsync();
        try
        {
            await using ConnectionMultiplexer right = await ConnectionMultiplexer.ConnectAsync(secured.Configuration + ",asyncTimeout=30000");
            var store = new RedisStore(right, new RedisStoreOptions { KeyPrefix = $"acl{Guid.NewGuid():N}", Timeout = TimeSpan.FromSeconds(30) });
            using var limiter = new RedisFixedWindowLimiter(store, "acl", ThreeAnHour);
            using RateLimitLease admitted = await limiter.AcquireAsync();
            bool kept = await right.GetDatabase().KeyExistsAsync(limiter.Key);

            await using ConnectionMultiplexer wrong = await ConnectionMultiplexer.ConnectAsync(
                secured.Configuration.Replace("s3cret-pass", "wrong", StringComparison.Ordinal));
            var refusedStore = new RedisStore(wrong, QuickOptions(RedisFailurePolicy.FailClosed));
            using var refusing = new RedisFixedWindowLimiter(refusedStore, "acl", ThreeAnHour);
            using RateLimitLease refused = await refusing.AcquireAsync();

            Assert.True(admitted.IsAcquired);
            Assert.True(kept, "the window's count should be kept in the password-protected Redis");
            Assert.False(refused.IsAcquired);
            Assert.True(refused.TryGetMetadata(LimiterMetadata.Unavailable, out string? why) && why!.Contains("Redis", StringComparison.Ordinal));
        }
        finally
        {
            await secured.DisposeAsync();
        }
    }

    // A cold process's first script call (JIT, connection, EVAL of the script) can outlast a short timeout, which would start an outage
    // early. What the warm-up warms is shared (this process's JIT, Redis's script cache), so it runs on a patient connection of its own
    // and the test's quick one then starts warm.
    private async Task<ConnectionMultiplexer> WarmConnectionAsync()
    {
        await using (ConnectionMultiplexer patient = await redis.ConnectPatientlyAsync())
        {
            var store = new RedisStore(patient, new RedisStoreOptions { KeyPrefix = $"warm{Guid.NewGuid():N}", Timeout = TimeSpan.FromSeconds(30) });
            using var limiter = new RedisFixedWindowLimiter(store, "warm", ThreeAnHour);
            using RateLimitLease lease = await limiter.AcquireAsync();
            Assert.True(lease.IsAcquired && store.IsAvailable, "Redis did not answer the warm-up");
        }

        return await redis.ConnectAsync();
    }

    private static RedisStoreOptions QuickOptions(RedisFailurePolicy policy) => new()
    {
        KeyPrefix = $"fault{Guid.NewGuid():N}",
        FailurePolicy = policy,
        Timeout = TimeSpan.FromMilliseconds(300),
        ProbeInterval = TimeSpan.FromMilliseconds(200),
    };

    // A freshly restarted Redis on a loaded machine may answer one call slower than the timeout, which is a new outage and logged as one;
    // what must never happen is a second warning for the same outage.
    private static void AssertEachOutageLoggedOnce(IReadOnlyList<FakeLogRecord> records)
    {
        LogLevel[] levels = records.Select(r => r.Level).Where(l => l is LogLevel.Warning or LogLevel.Information).ToArray();
        for (int i = 0; i < levels.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? LogLevel.Warning : LogLevel.Information, levels[i]);
        }
    }

    private static async Task<int> CountAdmittedAsync(RateLimiter limiter, int requests)
    {
        int admitted = 0;
        for (int i = 0; i < requests; i++)
        {
            using RateLimitLease lease = await limiter.AcquireAsync();
            admitted += lease.IsAcquired ? 1 : 0;
        }

        return admitted;
    }

    private static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (int i = 0; i < 150; i++)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
