using System.Threading.RateLimiting;
using Backpressure.Partitioning;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.Partitioning;

public sealed class BoundedPartitionedRateLimiterTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<PressureGauge> _created = [];

    private BoundedPartitionedRateLimiter<string> NewLimiter(int maxPartitions) => new(
        key => key,
        _ =>
        {
            var gauge = new PressureGauge(new PressureGaugeOptions { PermitLimit = 1, HoldTimeSampleInterval = 1 }, _time);
            _created.Add(gauge);
            return gauge;
        },
        new PartitionBoundOptions { MaxPartitions = maxPartitions });

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(10_000_001)]
    public void Constructor_WithAnOutOfRangeBound_ThrowsNamingMaxPartitions(int max)
    {
        var e = Assert.Throws<ArgumentException>(() => NewLimiter(max));
        Assert.Equal(nameof(PartitionBoundOptions.MaxPartitions), e.ParamName);
        Assert.Contains("MaxPartitions must be between 1 and 10000000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_Default_IsTenThousandPartitions()
    {
        Assert.Equal(10_000, new PartitionBoundOptions().MaxPartitions);
    }

    [Fact]
    public void EachKey_GetsALimiterOfItsOwn_AndTheSameKeyTheSameLimiter()
    {
        using var limiter = NewLimiter(10);
        using var alice = limiter.AttemptAcquire("alice");
        using var bob = limiter.AttemptAcquire("bob");
        using var aliceAgain = limiter.AttemptAcquire("alice");

        Assert.True(alice.IsAcquired);
        Assert.True(bob.IsAcquired);
        Assert.False(aliceAgain.IsAcquired);
        Assert.Equal(2, limiter.PartitionCount);
    }

    [Fact]
    public void ManyDistinctKeys_NeverHoldMoreThanTheBound()
    {
        using var limiter = NewLimiter(1000);
        for (int i = 0; i < 200_000; i++)
        {
            limiter.AttemptAcquire($"client-{i}").Dispose();
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(1000, limiter.PartitionCount);
        Assert.Equal(199_000, limiter.EvictedPartitions);
        Assert.Equal(0, limiter.RefusedAtBound);
    }

    [Fact]
    public void Eviction_DisposesTheEvictedLimiter()
    {
        using var limiter = NewLimiter(1);
        limiter.AttemptAcquire("old").Dispose();
        _time.Advance(TimeSpan.FromSeconds(1));

        using var lease = limiter.AttemptAcquire("new");

        Assert.True(lease.IsAcquired);
        Assert.Throws<ObjectDisposedException>(() => _created[0].AttemptAcquire());
    }

    [Fact]
    public void Eviction_NeverTakesAPartitionWithPermitsInFlight()
    {
        using var limiter = NewLimiter(2);
        using var busy = limiter.AttemptAcquire("busy");
        limiter.AttemptAcquire("idle").Dispose();
        _time.Advance(TimeSpan.FromSeconds(1));

        for (int i = 0; i < 50; i++)
        {
            limiter.AttemptAcquire($"new-{i}").Dispose();
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        // The busy partition kept its count: its single permit is still taken.
        using var busyAgain = limiter.AttemptAcquire("busy");
        Assert.False(busyAgain.IsAcquired);
    }

    [Fact]
    public void ANewKey_WhenEveryPartitionIsBusy_IsRefusedAsUnavailableWithRetryAfterInsteadOfGrowingPastTheBound()
    {
        using var limiter = NewLimiter(2);
        using var first = limiter.AttemptAcquire("first");
        using var second = limiter.AttemptAcquire("second");

        using var third = limiter.AttemptAcquire("third");

        Assert.False(third.IsAcquired);
        Assert.True(third.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);
        Assert.True(third.TryGetMetadata(LimiterMetadata.Unavailable, out string? why));
        Assert.Equal("too many clients at once: all 2 partitions the policy holds are busy", why);
        Assert.Equal(2, limiter.PartitionCount);
        Assert.Equal(1, limiter.RefusedAtBound);
    }

    [Fact]
    public async Task AcquireAsync_UsesTheKeysPartition()
    {
        using var limiter = NewLimiter(4);
        using var held = await limiter.AcquireAsync("alice");
        using var refused = await limiter.AcquireAsync("alice");

        Assert.True(held.IsAcquired);
        Assert.False(refused.IsAcquired);
    }

    [Fact]
    public async Task AcquirePartitionAsync_ByAKeyAlreadyComputed_UsesThatPartition_AndItsStatisticsReadTheSame()
    {
        using var limiter = NewLimiter(4);
        using var held = await limiter.AcquirePartitionAsync("alice");
        using var refused = limiter.AttemptAcquire("alice");

        Assert.True(held.IsAcquired);
        Assert.False(refused.IsAcquired);
        Assert.Equal(0, limiter.GetPartitionStatistics("alice")!.CurrentAvailablePermits);
        Assert.Null(limiter.GetPartitionStatistics("bob"));
    }

    [Fact]
    public void GetStatistics_OfAnUnknownKey_IsNullAndCreatesNothing()
    {
        using var limiter = NewLimiter(4);

        Assert.Null(limiter.GetStatistics("nobody"));
        Assert.Equal(0, limiter.PartitionCount);
    }

    [Fact]
    public void Dispose_DisposesEveryPartition_AndRefusesFurtherUse()
    {
        var limiter = NewLimiter(4);
        limiter.AttemptAcquire("a").Dispose();
        limiter.AttemptAcquire("b").Dispose();

        limiter.Dispose();

        Assert.All(_created, gauge => Assert.Throws<ObjectDisposedException>(() => gauge.AttemptAcquire()));
        Assert.Throws<ObjectDisposedException>(() => limiter.AttemptAcquire("a"));
    }

    [Fact]
    public async Task ConcurrentCallers_OnNewKeys_NeverPassTheBound()
    {
        using var limiter = NewLimiter(64);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                limiter.AttemptAcquire($"{worker}-{i}").Dispose();
            }
        })));

        Assert.Equal(64, limiter.PartitionCount);
    }

    [Fact]
    public async Task ACaller_WhosePartitionIsEvictedUnderItOnEveryAttempt_IsRefusedAsAtTheBound_NotThrownAt()
    {
        // Each partition of "victim" is evicted by a new key between the caller's lookup and its acquire, as
        // happens to a thread pre-empted at that point while others flood new keys; done here on the caller's
        // own thread, so the interleaving is certain.
        BoundedPartitionedRateLimiter<string>? limiter = null;
        int victims = 0;
        limiter = new BoundedPartitionedRateLimiter<string>(
            key => key,
            key => key.StartsWith("victim", StringComparison.Ordinal)
                ? new EvictedOnAcquire(() => limiter!.AttemptAcquire($"new-key-{Interlocked.Increment(ref victims)}").Dispose())
                : new PressureGauge(new PressureGaugeOptions { PermitLimit = 1 }, _time),
            new PartitionBoundOptions { MaxPartitions = 1 });
        using (limiter)
        {
            using RateLimitLease lease = limiter.AttemptAcquire("victim");
            using RateLimitLease asyncLease = await limiter.AcquireAsync("victim");

            Assert.All([lease, asyncLease], refused =>
            {
                Assert.False(refused.IsAcquired);
                Assert.True(refused.TryGetMetadata(LimiterMetadata.Unavailable, out _));
                Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
                Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);
            });
            Assert.Equal(2, limiter.RefusedAtBound);
            Assert.Equal(8, victims);
        }
    }

    /// <summary>A limiter that, asked for a permit, first lets <c>evict</c> take its place, then answers as the disposed limiter it now is.</summary>
    private sealed class EvictedOnAcquire(Action evict) : RateLimiter
    {
        private bool _disposed;

        public override TimeSpan? IdleDuration => TimeSpan.Zero;

        public override RateLimiterStatistics? GetStatistics() => null;

        protected override RateLimitLease AttemptAcquireCore(int permitCount) => EvictThenThrow();

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
            ValueTask.FromResult(EvictThenThrow());

        protected override void Dispose(bool disposing)
        {
            _disposed = true;
            base.Dispose(disposing);
        }

        private RateLimitLease EvictThenThrow()
        {
            evict();
            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new InvalidOperationException("the partition was not evicted, so the test set-up is wrong");
        }
    }
}
