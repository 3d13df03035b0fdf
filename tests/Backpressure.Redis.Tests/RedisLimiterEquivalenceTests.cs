using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Backpressure.Redis.Tests;

/// <summary>
/// Each script against the in-process limiter of the same kind, on the same seeded arrival schedule,
/// both on one <see cref="FakeTimeProvider"/> (the Redis limiter on the application clock): the same
/// admissions, and the same <c>RetryAfter</c> within the scripts' microsecond rounding.
/// </summary>
public sealed class RedisLimiterEquivalenceTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private static readonly TimeSpan Rounding = TimeSpan.FromMicroseconds(2);
    private readonly FakeTimeProvider _time = new();
    private ConnectionMultiplexer _connection = null!;
    private RedisStore _store = null!;

    public async Task InitializeAsync()
    {
        _connection = await redis.ConnectPatientlyAsync();
        _store = new RedisStore(_connection, new RedisStoreOptions { Clock = RedisClock.Application, KeyPrefix = $"eq{Guid.NewGuid():N}" }, timeProvider: _time);
        Assert.True(await _store.WarmUpAsync(), "no connection to Redis");
    }

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task TokenBucket_AdmitsWhatTheInProcessBucketAdmits(int seed)
    {
        var options = new TokenBucketLimiterOptions { TokenLimit = 5, TokensPerPeriod = 3, ReplenishmentPeriod = TimeSpan.FromSeconds(1) };
        using var local = new TokenBucketLimiter(options, _time);
        using var shared = new RedisTokenBucketLimiter(_store, "client", options);

        await AssertSameDecisionsAsync(local, shared, seed, maxGap: TimeSpan.FromMilliseconds(400), maxPermits: 3);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task FixedWindow_AdmitsWhatTheInProcessWindowAdmits(int seed)
    {
        var options = new FixedWindowLimiterOptions { PermitLimit = 5, Window = TimeSpan.FromSeconds(1) };
        using var local = new FixedWindowLimiter(options, _time);
        using var shared = new RedisFixedWindowLimiter(_store, "client", options);

        await AssertSameDecisionsAsync(local, shared, seed, maxGap: TimeSpan.FromMilliseconds(300), maxPermits: 2);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task SlidingWindow_AdmitsWhatTheInProcessWindowAdmits(int seed)
    {
        var options = new SlidingWindowLimiterOptions { PermitLimit = 6, Window = TimeSpan.FromSeconds(1), SegmentsPerWindow = 4 };
        using var local = new SlidingWindowLimiter(options, _time);
        using var shared = new RedisSlidingWindowLimiter(_store, "client", options);

        await AssertSameDecisionsAsync(local, shared, seed, maxGap: TimeSpan.FromMilliseconds(200), maxPermits: 2);
    }

    [Fact]
    public async Task LeakyBucket_GivesEachRequestTheNextTurn_AndRefusesWhenTheQueueIsFull()
    {
        var options = new LeakyBucketLimiterOptions { PermitsPerPeriod = 10, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 2 };
        using var shared = new RedisLeakyBucketLimiter(_store, "client", options);
        IDatabase db = _connection.GetDatabase();

        using RateLimitLease first = await shared.AcquireAsync();
        Task<RateLimitLease> second = shared.AcquireAsync().AsTask();
        await WaitForTurnAsync(db, shared.Key, TimeSpan.FromMilliseconds(100));
        Task<RateLimitLease> third = shared.AcquireAsync().AsTask();
        await WaitForTurnAsync(db, shared.Key, TimeSpan.FromMilliseconds(200));
        using RateLimitLease fourth = await shared.AcquireAsync();
        _time.Advance(TimeSpan.FromMilliseconds(100));
        using RateLimitLease secondLease = await second;
        bool thirdWaitsItsTurn = !third.IsCompleted;
        _time.Advance(TimeSpan.FromMilliseconds(100));
        using RateLimitLease thirdLease = await third;

        Assert.True(first.IsAcquired);
        Assert.True(secondLease.IsAcquired);
        Assert.True(thirdWaitsItsTurn);
        Assert.True(thirdLease.IsAcquired);
        Assert.False(fourth.IsAcquired);
        Assert.True(fourth.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(100), retryAfter);
    }

    [Fact]
    public async Task LeakyBucket_ATurnThatPassesWhileTheAnswerIsOnItsWay_IsNotWaitedForAgain()
    {
        var options = new LeakyBucketLimiterOptions { PermitsPerPeriod = 10, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 2 };
        using var shared = new RedisLeakyBucketLimiter(_store, "client", options);

        using RateLimitLease first = await shared.AcquireAsync();
        Task<RateLimitLease> second = shared.AcquireAsync().AsTask();
        // The clock reaches the turn before Redis's answer is read: nothing will advance it again.
        _time.Advance(TimeSpan.FromMilliseconds(100));
        using RateLimitLease secondLease = await second.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(first.IsAcquired);
        Assert.True(secondLease.IsAcquired);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task LeakyBucket_ScriptGivesTheTurnsTheInProcessQueueGives(int seed)
    {
        var options = new LeakyBucketLimiterOptions { PermitsPerPeriod = 10, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 3 };
        using var local = new LeakyBucketLimiter(options, _time);
        IDatabase db = _connection.GetDatabase();
        RedisKey key = $"{{eq{Guid.NewGuid():N}:leaky}}";
        var random = new Random(seed);
        var waiting = new List<(Task<RateLimitLease> Local, DateTimeOffset Turn)>();
        int atOnce = 0, queued = 0, refused = 0;
        for (int i = 0; i < 150; i++)
        {
            // Bursts and lulls: quick arrivals fill the queue, long gaps drain it.
            _time.Advance(TimeSpan.FromMicroseconds(random.NextInt64(random.Next(4) == 0 ? 600_000 : 40_000)));
            foreach (var (task, turn) in waiting)
            {
                Assert.True(task.IsCompleted == (turn <= _time.GetUtcNow()), $"arrival {i}: an in-process waiter due at {turn:HH:mm:ss.ffffff} is {(task.IsCompleted ? "" : "not ")}done at {_time.GetUtcNow():HH:mm:ss.ffffff}");
            }

            waiting.RemoveAll(w => w.Local.IsCompleted);
            Task<RateLimitLease> expected = local.AcquireAsync().AsTask();
            long now = (long)(_time.GetUtcNow() - DateTimeOffset.UnixEpoch).TotalMicroseconds;
            RedisDecision actual = await RedisScript.LeakyBucket.EvaluateAsync(db, [key], [now, 100_000, options.QueueLimit]);

            // An in-process answer still pending when the script answered at once would wait on the fake clock forever.
            Assert.True(actual.Admitted && actual.Microseconds > 0 || expected.IsCompleted, $"arrival {i}: the script answered at once, in-process is waiting");
            if (!actual.Admitted)
            {
                using RateLimitLease lease = await expected;
                Assert.False(lease.IsAcquired, $"arrival {i}: in-process admitted what the script refused");
                Assert.True(lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan want));
                Assert.True((want - TimeSpan.FromMicroseconds(actual.Microseconds)).Duration() <= Rounding, $"arrival {i}: RetryAfter {actual.Microseconds} µs from the script, {want} in-process");
                refused++;
            }
            else if (actual.Microseconds == 0)
            {
                using RateLimitLease lease = await expected;
                Assert.True(lease.IsAcquired, $"arrival {i}: the script let it pass at once, in-process refused");
                atOnce++;
            }
            else
            {
                Assert.False(expected.IsCompleted, $"arrival {i}: the script queued it for {actual.Microseconds} µs, in-process answered at once");
                waiting.Add((expected, _time.GetUtcNow().AddTicks(actual.Microseconds * TimeSpan.TicksPerMicrosecond)));
                queued++;
            }
        }

        Assert.True(atOnce > 10 && queued > 10 && refused > 10, $"{atOnce} at once, {queued} queued, {refused} refused");
    }

    private async Task AssertSameDecisionsAsync(RateLimiter local, RateLimiter shared, int seed, TimeSpan maxGap, int maxPermits)
    {
        var random = new Random(seed);
        int admitted = 0, refused = 0;
        for (int i = 0; i < 150; i++)
        {
            _time.Advance(TimeSpan.FromMicroseconds(random.NextInt64((long)maxGap.TotalMicroseconds)));
            int permits = random.Next(1, maxPermits + 1);
            using RateLimitLease expected = local.AttemptAcquire(permits);
            using RateLimitLease actual = await shared.AcquireAsync(permits);
            Assert.True(_store.IsAvailable, $"arrival {i}: the store fell back to its failure policy, so Redis did not decide");

            Assert.True(expected.IsAcquired == actual.IsAcquired, $"arrival {i} ({permits} permits): in-process {(expected.IsAcquired ? "admitted" : "refused")}, Redis did not");
            if (!expected.IsAcquired)
            {
                Assert.True(expected.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan want));
                Assert.True(actual.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan got), $"arrival {i}: the Redis refusal has no RetryAfter");
                Assert.True((want - got).Duration() <= Rounding, $"arrival {i}: RetryAfter {got} from Redis, {want} in-process");
            }

            _ = expected.IsAcquired ? admitted++ : refused++;
        }

        // The schedule must exercise both answers, or the comparison proves little.
        Assert.True(admitted > 20 && refused > 20, $"{admitted} admitted and {refused} refused");
    }

    private async Task WaitForTurnAsync(IDatabase db, RedisKey key, TimeSpan afterStart)
    {
        long expected = (long)(_time.GetUtcNow() - DateTimeOffset.UnixEpoch + afterStart).TotalMicroseconds;
        for (int i = 0; i < 200; i++)
        {
            if ((long?)(double?)await db.StringGetAsync(key) == expected)
            {
                return;
            }

            await Task.Delay(10);
        }

        Assert.Fail($"the leaky bucket's last turn never reached {afterStart}");
    }
}
