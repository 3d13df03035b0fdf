using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.RateLimiting;

public sealed class RateLimiterTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void FixedWindow_AdmitsTheLimitPerWindow_AndRefusesWithTheTimeLeftInTheWindow()
    {
        using var limiter = new FixedWindowLimiter(new FixedWindowLimiterOptions { PermitLimit = 2, Window = TimeSpan.FromSeconds(10) }, _time);
        Assert.True(limiter.AttemptAcquire().IsAcquired);
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.True(limiter.AttemptAcquire().IsAcquired);

        using var refused = limiter.AttemptAcquire();

        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(6), retryAfter);
    }

    [Fact]
    public void SlidingWindow_FreesPermitsAsTheirSegmentSlidesOut()
    {
        using var limiter = new SlidingWindowLimiter(new SlidingWindowLimiterOptions { PermitLimit = 2, Window = TimeSpan.FromSeconds(4), SegmentsPerWindow = 4 }, _time);
        Assert.True(limiter.AttemptAcquire().IsAcquired);
        _time.Advance(TimeSpan.FromSeconds(2.5));
        Assert.True(limiter.AttemptAcquire().IsAcquired);

        using var refused = limiter.AttemptAcquire();

        // The first permit's segment [0 s, 1 s) leaves the window when the segment at 4 s begins.
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(1.5), retryAfter);
    }

    [Fact]
    public void TokenBucket_AllowsABurstThenRefillsContinuously()
    {
        using var limiter = new TokenBucketLimiter(new TokenBucketLimiterOptions { TokenLimit = 3, TokensPerPeriod = 2, ReplenishmentPeriod = TimeSpan.FromSeconds(1) }, _time);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(limiter.AttemptAcquire().IsAcquired);
        }

        using var refused = limiter.AttemptAcquire();

        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(500), retryAfter);
    }

    [Fact]
    public async Task LeakyBucket_LetsQueuedRequestsThroughOneIntervalApart()
    {
        using var limiter = new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 10, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 2 }, _time);
        using var first = await limiter.AcquireAsync();
        var second = limiter.AcquireAsync().AsTask();
        var third = limiter.AcquireAsync().AsTask();

        Assert.True(first.IsAcquired);
        Assert.False(second.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True((await second).IsAcquired);
        Assert.False(third.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True((await third).IsAcquired);
    }

    [Fact]
    public async Task LeakyBucket_ALateDrainTimerDoesNotSlowTheRate_WaitersLeaveAtTheirTurnsNotWhenTheTimerFires()
    {
        using var limiter = new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 10, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 3 }, _time);
        using RateLimitLease first = await limiter.AcquireAsync();
        var waiting = Enumerable.Range(0, 3).Select(_ => limiter.AcquireAsync().AsTask()).ToList();

        // The timer fires 250 ms late: the turns at 100, 200 and (not yet) 300 ms are what count.
        _time.Advance(TimeSpan.FromMilliseconds(250));
        bool[] doneAt250 = [.. waiting.Select(t => t.IsCompleted)];
        _time.Advance(TimeSpan.FromMilliseconds(50));

        Assert.Equal([true, true, false], doneAt250);
        Assert.All(await Task.WhenAll(waiting), lease => Assert.True(lease.IsAcquired));
    }

    [Fact]
    public async Task LeakyBucket_WhenTheQueueIsFull_RefusesAtOnceWithTheTimeUntilAPlaceFrees()
    {
        using var limiter = new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 10, QueueLimit = 1 }, _time);
        using var first = await limiter.AcquireAsync();
        var queued = limiter.AcquireAsync().AsTask();
        _time.Advance(TimeSpan.FromMilliseconds(30));

        using var refused = await limiter.AcquireAsync();

        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(70), retryAfter);
        Assert.Equal(1, limiter.GetStatistics()!.CurrentQueuedCount);
        _time.Advance(retryAfter);
        Assert.True((await queued).IsAcquired);
    }

    [Fact]
    public async Task LeakyBucket_ACancelledWaiterLeavesTheQueueAndTakesNoSlot()
    {
        using var limiter = new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 10, QueueLimit = 2 }, _time);
        using var first = await limiter.AcquireAsync();
        using var gone = new CancellationTokenSource();
        var cancelled = limiter.AcquireAsync(1, gone.Token).AsTask();
        var behind = limiter.AcquireAsync().AsTask();

        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        _time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.True((await behind).IsAcquired);
        Assert.Equal(0, limiter.GetStatistics()!.CurrentQueuedCount);
    }

    [Fact]
    public async Task LeakyBucket_Dispose_FailsTheWaiters()
    {
        var limiter = new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 1, QueueLimit = 1 }, _time);
        using var first = await limiter.AcquireAsync();
        var waiting = limiter.AcquireAsync().AsTask();

        limiter.Dispose();

        Assert.False((await waiting).IsAcquired);
    }

    [Fact]
    public async Task LeakyBucket_AfterDispose_RefusesNewRequestsWithObjectDisposed()
    {
        var limiter = new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 1, QueueLimit = 1 }, _time);
        using var first = await limiter.AcquireAsync();

        limiter.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await limiter.AcquireAsync());
        Assert.Throws<ObjectDisposedException>(() => limiter.AttemptAcquire());
    }

    [Theory]
    [InlineData("fixed-window")]
    [InlineData("sliding-window")]
    [InlineData("token-bucket")]
    [InlineData("leaky-bucket")]
    public void IdlePartitions_AreRetiredSoMemoryDoesNotGrowWithClients(string algorithm)
    {
        int created = 0;
        var limiters = new List<RateLimiter>();
        using var partitioned = PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.Get(client, _ =>
        {
            created++;
            var limiter = RateLimiterHonestyTests.Create(algorithm, _time);
            limiters.Add(limiter);
            return limiter;
        }));
        using (partitioned.AttemptAcquire("client")) { }

        // The partitioned limiter retires a partition idle for over 10 s, checking on its own timer.
        _time.Advance(TimeSpan.FromSeconds(30));
        bool retired = SpinWait.SpinUntil(() =>
        {
            try
            {
                limiters[0].AttemptAcquire(0).Dispose();
                return false;
            }
            catch (ObjectDisposedException)
            {
                return true;
            }
        }, TimeSpan.FromSeconds(10));

        Assert.True(retired, $"the idle {algorithm} partition was not retired");
        using (partitioned.AttemptAcquire("client")) { }
        Assert.Equal(2, created);
    }

    [Fact]
    public void Options_OutOfRange_AreRejectedNamingTheOption()
    {
        Assert.Equal("PermitLimit", Assert.Throws<ArgumentException>(() => new FixedWindowLimiter(new FixedWindowLimiterOptions { PermitLimit = 0 })).ParamName);
        Assert.Equal("Window", Assert.Throws<ArgumentException>(() => new FixedWindowLimiter(new FixedWindowLimiterOptions { PermitLimit = 1, Window = TimeSpan.Zero })).ParamName);
        Assert.Equal("SegmentsPerWindow", Assert.Throws<ArgumentException>(() => new SlidingWindowLimiter(new SlidingWindowLimiterOptions { PermitLimit = 1, SegmentsPerWindow = 0 })).ParamName);
        Assert.Equal("TokensPerPeriod", Assert.Throws<ArgumentException>(() => new TokenBucketLimiter(new TokenBucketLimiterOptions { TokenLimit = 1, TokensPerPeriod = -1 })).ParamName);
        Assert.Equal("ReplenishmentPeriod", Assert.Throws<ArgumentException>(() => new TokenBucketLimiter(new TokenBucketLimiterOptions { TokenLimit = 1, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromSeconds(-1) })).ParamName);
        Assert.Equal("PermitsPerPeriod", Assert.Throws<ArgumentException>(() => new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 0 })).ParamName);
        Assert.Equal("QueueLimit", Assert.Throws<ArgumentException>(() => new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 1, QueueLimit = -1 })).ParamName);
        Assert.Equal("ReplenishmentPeriod", Assert.Throws<ArgumentException>(() => new TokenBucketLimiter(new TokenBucketLimiterOptions { TokenLimit = int.MaxValue, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromDays(365) })).ParamName);
        Assert.Equal("ReplenishmentPeriod", Assert.Throws<ArgumentException>(() => new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromDays(50) })).ParamName);
    }

    [Fact]
    public void AttemptAcquire_MorePermitsThanTheLimit_Throws()
    {
        using var limiter = new TokenBucketLimiter(new TokenBucketLimiterOptions { TokenLimit = 2, TokensPerPeriod = 1 }, _time);
        Assert.Throws<ArgumentOutOfRangeException>(() => limiter.AttemptAcquire(3));
    }
}
