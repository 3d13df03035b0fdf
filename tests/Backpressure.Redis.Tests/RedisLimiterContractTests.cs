using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using StackExchange.Redis;

namespace Backpressure.Redis.Tests;

// Every Redis limiter against the one contract (tests/Shared/RateLimiterContract.cs), on a real Redis, each
// on the application clock so that the contract's frozen clock is the scripts' clock too.

/// <summary>A store on the shared Redis whose scripts read <see cref="RateLimiterContract.Time"/>; a fresh key per limiter.</summary>
public abstract class RedisLimiterContract(RedisServer redis) : RateLimiterContract, IAsyncLifetime
{
    private ConnectionMultiplexer _connection = null!;

    protected RedisStore Store { get; private set; } = null!;

    protected static string NewPartition() => Guid.NewGuid().ToString("N");

    public async Task InitializeAsync()
    {
        _connection = await redis.ConnectPatientlyAsync();

        // Without abortConnect the first connect may still be under way on a busy machine: wait for it, boundedly.
        for (int i = 0; i < 100 && !_connection.IsConnected; i++)
        {
            await Task.Delay(100);
        }

        Store = new RedisStore(_connection, new RedisStoreOptions { Clock = RedisClock.Application, KeyPrefix = $"contract{Guid.NewGuid():N}", Timeout = TimeSpan.FromSeconds(5) }, timeProvider: Time);
        Assert.True(await Store.WarmUpAsync(), "no connection to Redis");
    }

    public async Task DisposeAsync() => await _connection.DisposeAsync();
}

public sealed class RedisFixedWindowLimiterContractTests(RedisServer redis) : RedisLimiterContract(redis), IClassFixture<RedisServer>
{
    protected override bool PermitsComeBack => false;

    protected override RateLimiter NewLimiter() =>
        new RedisFixedWindowLimiter(Store, NewPartition(), new FixedWindowLimiterOptions { PermitLimit = Limit, Window = TimeSpan.FromSeconds(10) });
}

public sealed class RedisSlidingWindowLimiterContractTests(RedisServer redis) : RedisLimiterContract(redis), IClassFixture<RedisServer>
{
    protected override bool PermitsComeBack => false;

    protected override RateLimiter NewLimiter() =>
        new RedisSlidingWindowLimiter(Store, NewPartition(), new SlidingWindowLimiterOptions { PermitLimit = Limit, Window = TimeSpan.FromSeconds(10), SegmentsPerWindow = 5 });
}

public sealed class RedisTokenBucketLimiterContractTests(RedisServer redis) : RedisLimiterContract(redis), IClassFixture<RedisServer>
{
    protected override bool PermitsComeBack => false;

    protected override RateLimiter NewLimiter() =>
        new RedisTokenBucketLimiter(Store, NewPartition(), new TokenBucketLimiterOptions { TokenLimit = Limit, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromSeconds(2) });
}

public sealed class RedisLeakyBucketLimiterContractTests(RedisServer redis) : RedisLimiterContract(redis), IClassFixture<RedisServer>
{
    protected override bool PermitsComeBack => false;

    // A leaky bucket lets permits through evenly: with no queue, the first at once and the next an interval later.
    protected override int Limit => 1;

    protected override RateLimiter NewLimiter() =>
        new RedisLeakyBucketLimiter(Store, NewPartition(), new LeakyBucketLimiterOptions { PermitsPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0 });
}

public sealed class RedisPressureGaugeContractTests(RedisServer redis) : RedisLimiterContract(redis), IClassFixture<RedisServer>
{
    protected override bool PermitsComeBack => true;

    // A holder in Redis is one permit.
    protected override int MostPermitsPerAcquire => 1;

    protected override RateLimiter NewLimiter() =>
        new RedisPressureGauge(Store, NewPartition(), new PressureGaugeOptions { PermitLimit = Limit });
}
