using System.Threading.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests;

public sealed class PressureGaugeTests
{
    private readonly FakeTimeProvider _time = new();

    // Every permit is timed, so the hold-time estimates below are exact.
    private PressureGauge NewGauge(int limit, TimeSpan? initialHold = null) => new(
        new PressureGaugeOptions
        {
            PermitLimit = limit,
            InitialHoldTimeEstimate = initialHold ?? TimeSpan.FromSeconds(1),
            HoldTimeSampleInterval = 1,
        },
        _time);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Constructor_WithNonPositivePermitLimit_ThrowsNamingPermitLimit(int limit)
    {
        var e = Assert.Throws<ArgumentException>(() => NewGauge(limit));
        Assert.Equal(nameof(PressureGaugeOptions.PermitLimit), e.ParamName);
        Assert.Contains("PermitLimit must be greater than zero", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_WithNonPositiveInitialHoldTime_ThrowsNamingTheOption()
    {
        var e = Assert.Throws<ArgumentException>(() => NewGauge(1, TimeSpan.Zero));
        Assert.Equal(nameof(PressureGaugeOptions.InitialHoldTimeEstimate), e.ParamName);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(2048)]
    public void Constructor_WithASampleIntervalThatIsNotAPowerOfTwoUpTo1024_ThrowsNamingTheOption(int interval)
    {
        var e = Assert.Throws<ArgumentException>(() => new PressureGauge(
            new PressureGaugeOptions { PermitLimit = 1, HoldTimeSampleInterval = interval }));
        Assert.Equal(nameof(PressureGaugeOptions.HoldTimeSampleInterval), e.ParamName);
    }

    [Fact]
    public void Options_Defaults_AreNoLimitOneSecondInitialHoldAndEveryEighthPermitTimed()
    {
        var options = new PressureGaugeOptions();
        Assert.Equal(0, options.PermitLimit);
        Assert.Equal(TimeSpan.FromSeconds(1), options.InitialHoldTimeEstimate);
        Assert.Equal(8, options.HoldTimeSampleInterval);
    }

    [Fact]
    public async Task DefaultSampling_TimesTheGaugesFirstPermit()
    {
        var time = new FakeTimeProvider();
        using var gauge = new PressureGauge(new PressureGaugeOptions { PermitLimit = 1 }, time);
        await Task.Factory.StartNew(() =>
        {
            var lease = gauge.AttemptAcquire();
            time.Advance(TimeSpan.FromMilliseconds(300));
            lease.Dispose();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var stats = Assert.IsType<PressureGaugeStatistics>(gauge.GetStatistics());
        Assert.Equal(TimeSpan.FromMilliseconds(300), stats.MeanHoldTime);
    }

    [Fact]
    public void AttemptAcquire_UpToTheLimit_GrantsEveryPermit()
    {
        using var gauge = NewGauge(3);
        var leases = Enumerable.Range(0, 3).Select(_ => gauge.AttemptAcquire()).ToList();
        Assert.All(leases, lease => Assert.True(lease.IsAcquired));
        Assert.Equal(3, gauge.InFlight);
    }

    [Fact]
    public void AttemptAcquire_WhenFull_ReturnsRefusedLeaseWithRetryAfter()
    {
        using var gauge = NewGauge(1);
        using var held = gauge.AttemptAcquire();

        using var refused = gauge.AttemptAcquire();

        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.True(retryAfter > TimeSpan.Zero);
        Assert.Contains(MetadataName.RetryAfter.Name, refused.MetadataNames);
    }

    [Fact]
    public void AttemptAcquire_AfterAPermitIsReturned_GrantsAgain()
    {
        using var gauge = NewGauge(1);
        gauge.AttemptAcquire().Dispose();
        using var lease = gauge.AttemptAcquire();
        Assert.True(lease.IsAcquired);
    }

    [Fact]
    public void Lease_DisposedTwice_ReturnsItsPermitOnlyOnce()
    {
        using var gauge = NewGauge(2);
        var first = gauge.AttemptAcquire();
        using var second = gauge.AttemptAcquire();

        first.Dispose();
        first.Dispose();

        Assert.Equal(1, gauge.InFlight);
        using var third = gauge.AttemptAcquire();
        using var fourth = gauge.AttemptAcquire();
        Assert.True(third.IsAcquired);
        Assert.False(fourth.IsAcquired);
    }

    [Fact]
    public void AttemptAcquire_SeveralPermits_CountsThemAll()
    {
        using var gauge = NewGauge(5);
        using var three = gauge.AttemptAcquire(3);
        using var threeMore = gauge.AttemptAcquire(3);
        using var two = gauge.AttemptAcquire(2);

        Assert.True(three.IsAcquired);
        Assert.False(threeMore.IsAcquired);
        Assert.True(two.IsAcquired);
        Assert.Equal(5, gauge.InFlight);
    }

    [Fact]
    public void GetStatistics_CountsALeaseOfSeveralPermitsOnce()
    {
        using var gauge = NewGauge(5);
        var three = gauge.AttemptAcquire(3);
        using var one = gauge.AttemptAcquire();

        var during = Assert.IsType<PressureGaugeStatistics>(gauge.GetStatistics());
        three.Dispose();
        var after = Assert.IsType<PressureGaugeStatistics>(gauge.GetStatistics());

        Assert.Equal(4, during.InFlight);
        Assert.Equal(2, during.Accepted);
        Assert.Equal(1, after.InFlight);
        Assert.Equal(2, after.Accepted);
    }

    [Fact]
    public void AttemptAcquire_MorePermitsThanTheLimit_Throws()
    {
        using var gauge = NewGauge(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => gauge.AttemptAcquire(3));
    }

    [Fact]
    public void AttemptAcquire_ZeroPermits_AnswersWhetherThereIsRoomAndTakesNothing()
    {
        using var gauge = NewGauge(1);
        using (var probe = gauge.AttemptAcquire(0))
        {
            Assert.True(probe.IsAcquired);
        }

        using var held = gauge.AttemptAcquire();
        using var probeWhenFull = gauge.AttemptAcquire(0);
        Assert.False(probeWhenFull.IsAcquired);
        Assert.Equal(1, gauge.InFlight);
    }

    [Fact]
    public void AttemptAcquire_AfterDispose_ThrowsObjectDisposed()
    {
        var gauge = NewGauge(1);
        gauge.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gauge.AttemptAcquire());
        Assert.Throws<ObjectDisposedException>(() => gauge.TryProcess(() => { }));
    }

    [Fact]
    public async Task AcquireAsync_WhenFull_RefusesAtOnceInsteadOfQueueing()
    {
        using var gauge = NewGauge(1);
        using var held = gauge.AttemptAcquire();

        ValueTask<RateLimitLease> pending = gauge.AcquireAsync();

        Assert.True(pending.IsCompleted);
        using var lease = await pending;
        Assert.False(lease.IsAcquired);
    }

    [Fact]
    public async Task AcquireAsync_WithCancelledToken_IsCancelledAndTakesNothing()
    {
        using var gauge = NewGauge(1);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await gauge.AcquireAsync(1, new CancellationToken(canceled: true)));
        Assert.Equal(0, gauge.InFlight);
    }

    [Fact]
    public void TryProcess_WhenFull_ReturnsFalseWithoutRunningTheWork()
    {
        using var gauge = NewGauge(1);
        using var held = gauge.AttemptAcquire();
        bool ran = false;

        bool admitted = gauge.TryProcess(() => ran = true);

        Assert.False(admitted);
        Assert.False(ran);
    }

    [Fact]
    public void TryProcess_WhenTheWorkThrows_ReturnsThePermit()
    {
        using var gauge = NewGauge(1);
        Assert.Throws<InvalidOperationException>(() => gauge.TryProcess(() => throw new InvalidOperationException()));
        Assert.Equal(0, gauge.InFlight);
    }

    [Fact]
    public async Task TryProcessAsync_WhenTheWorkIsCancelled_ReturnsThePermit()
    {
        using var gauge = NewGauge(1);
        using var cts = new CancellationTokenSource();
        var started = new TaskCompletionSource();

        ValueTask<bool> running = gauge.TryProcessAsync(async ct =>
        {
            started.SetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
        }, cts.Token);
        await started.Task;
        Assert.Equal(1, gauge.InFlight);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await running);
        Assert.Equal(0, gauge.InFlight);
    }

    [Fact]
    public async Task TryProcessAsync_WhenFull_CompletesSynchronouslyWithFalse()
    {
        using var gauge = NewGauge(1);
        using var held = gauge.AttemptAcquire();

        ValueTask<bool> result = gauge.TryProcessAsync(_ => ValueTask.CompletedTask);

        Assert.True(result.IsCompleted);
        Assert.False(await result);
    }

    [Fact]
    public async Task ManyConcurrentCallers_NeverHaveMoreThanTheLimitInFlight()
    {
        const int limit = 4;
        using var gauge = new PressureGauge(new PressureGaugeOptions { PermitLimit = limit, HoldTimeSampleInterval = 2 });
        int running = 0;
        int highest = 0;
        long admitted = 0;

        void Work()
        {
            int now = Interlocked.Increment(ref running);
            int seen;
            while (now > (seen = Volatile.Read(ref highest)) && Interlocked.CompareExchange(ref highest, now, seen) != seen)
            {
            }

            Thread.SpinWait(50);
            Interlocked.Decrement(ref running);
        }

        var callers = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                if (i % 2 == 0)
                {
                    if (gauge.TryProcess(Work))
                    {
                        Interlocked.Increment(ref admitted);
                    }
                }
                else
                {
                    using var lease = gauge.AttemptAcquire();
                    if (lease.IsAcquired)
                    {
                        Interlocked.Increment(ref admitted);
                        Work();
                    }
                }
            }
        }));
        await Task.WhenAll(callers);

        var stats = Assert.IsType<PressureGaugeStatistics>(gauge.GetStatistics());
        Assert.InRange(highest, 1, limit);
        Assert.Equal(0, gauge.InFlight);
        Assert.Equal(admitted, stats.Accepted);
        Assert.Equal(8 * 20_000, stats.Accepted + stats.Refused);
    }

    [Fact]
    public void GetStatistics_ReportsInFlightAcceptedAndRefused()
    {
        using var gauge = NewGauge(2);
        using var a = gauge.AttemptAcquire();
        gauge.AttemptAcquire().Dispose();
        using var b = gauge.AttemptAcquire();
        using var refused = gauge.AttemptAcquire();

        var stats = Assert.IsType<PressureGaugeStatistics>(gauge.GetStatistics());

        Assert.Equal(2, stats.InFlight);
        Assert.Equal(2, stats.PermitLimit);
        Assert.Equal(0, stats.CurrentAvailablePermits);
        Assert.Equal(3, stats.Accepted);
        Assert.Equal(1, stats.Refused);
        Assert.Equal(0, stats.CurrentQueuedCount);
    }

    [Fact]
    public void RetryAfter_BeforeAnyPermitIsReturned_CountsDownFromTheInitialEstimate()
    {
        using var gauge = NewGauge(1, TimeSpan.FromSeconds(2));
        using var held = gauge.AttemptAcquire();
        _time.Advance(TimeSpan.FromMilliseconds(500));

        using var refused = gauge.AttemptAcquire();

        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), retryAfter);
    }

    [Fact]
    public void RetryAfter_BeforeAnyPermitIsReturned_WhenWorkOutlivesTheInitialEstimate_IsTheAgeOfTheWorkInFlight()
    {
        // A fresh gauge guessing 1 s in front of work that takes longer: once the permits in flight
        // are older than the guess, the guess is wrong, and the floor would send callers back too soon.
        using var gauge = NewGauge(10, TimeSpan.FromSeconds(1));
        var held = Enumerable.Range(0, 10).Select(_ => gauge.AttemptAcquire()).ToList();
        _time.Advance(TimeSpan.FromMilliseconds(1100));

        using var refused = gauge.AttemptAcquire();

        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(1100), retryAfter);
        held.ForEach(lease => lease.Dispose());
    }

    [Fact]
    public void Sampling_OfTwoGaugesAcquiredAlternatelyOnOneThread_TimesPermitsOfBoth()
    {
        // A group limit and an endpoint limit taken one after the other on the same thread: a sampling
        // counter shared by every gauge on the thread gave one of them every sample and the other none.
        PressureGauge NewSampledEveryOther() => new(
            new PressureGaugeOptions { PermitLimit = 1, HoldTimeSampleInterval = 2, InitialHoldTimeEstimate = TimeSpan.FromSeconds(9) }, _time);
        using var group = NewSampledEveryOther();
        using var endpoint = NewSampledEveryOther();
        for (int i = 0; i < 8; i++)
        {
            using RateLimitLease outer = group.AttemptAcquire();
            using RateLimitLease inner = endpoint.AttemptAcquire();
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(100), Assert.IsType<PressureGaugeStatistics>(group.GetStatistics()).MeanHoldTime);
        Assert.Equal(TimeSpan.FromMilliseconds(100), Assert.IsType<PressureGaugeStatistics>(endpoint.GetStatistics()).MeanHoldTime);
    }

    [Fact]
    public void RetryAfter_WhenWorkStartedTogether_IsTheObservedHoldTimeLessItsAge()
    {
        // The Go seed: ten requests admitted at once, each held two seconds.
        using var gauge = NewGauge(10, TimeSpan.FromMilliseconds(100));
        var first = gauge.AttemptAcquire();
        _time.Advance(TimeSpan.FromSeconds(2));
        first.Dispose();

        var held = Enumerable.Range(0, 10).Select(_ => gauge.AttemptAcquire()).ToList();
        _time.Advance(TimeSpan.FromMilliseconds(300));
        using var refused = gauge.AttemptAcquire();

        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(1700), retryAfter);
        held.ForEach(lease => lease.Dispose());
    }

    [Fact]
    public void RetryAfter_WhenObservedWorkOutlivesTheMeanHoldTime_NeverFallsBelowTheMeanGapBetweenReleases()
    {
        using var gauge = NewGauge(3, TimeSpan.FromSeconds(1));
        var observed = gauge.AttemptAcquire();
        _time.Advance(TimeSpan.FromSeconds(4));
        observed.Dispose();
        var held = Enumerable.Range(0, 3).Select(_ => gauge.AttemptAcquire()).ToList();
        _time.Advance(TimeSpan.FromSeconds(10));

        // Mean hold 4 s shared by 3 permits: about one returns every 4 / (3 + 1) = 1 s.
        Assert.Equal(TimeSpan.FromSeconds(1), gauge.RetryAfter);
        held.ForEach(lease => lease.Dispose());
    }

    [Fact]
    public void MeanHoldTime_FollowsObservedHoldTimes()
    {
        using var gauge = NewGauge(1, TimeSpan.FromSeconds(5));
        for (int i = 0; i < 40; i++)
        {
            var lease = gauge.AttemptAcquire();
            _time.Advance(TimeSpan.FromMilliseconds(200));
            lease.Dispose();
        }

        var stats = Assert.IsType<PressureGaugeStatistics>(gauge.GetStatistics());
        Assert.Equal(TimeSpan.FromMilliseconds(200), stats.MeanHoldTime);
    }

    [Fact]
    public void IdleDuration_IsNullWhileWorkIsInFlightAndGrowsAfterwards()
    {
        using var gauge = NewGauge(1);
        var lease = gauge.AttemptAcquire();
        Assert.Null(gauge.IdleDuration);

        lease.Dispose();
        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(TimeSpan.FromSeconds(3), gauge.IdleDuration);
    }

    [Fact]
    public void RefusedAttempts_AllocateNothing()
    {
        using var gauge = NewGauge(1);
        using var held = gauge.AttemptAcquire();
        for (int i = 0; i < 100; i++)
        {
            gauge.AttemptAcquire().Dispose();
            gauge.TryProcess(static () => { });
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            gauge.AttemptAcquire().Dispose();
            gauge.TryProcess(static () => { });
        }

        AssertNoAllocationPerCall(GC.GetAllocatedBytesForCurrentThread() - before, 20_000);
    }

    [Fact]
    public void TryProcess_WhenAdmitted_AllocatesNothing()
    {
        using var gauge = NewGauge(4);
        for (int i = 0; i < 100; i++)
        {
            gauge.TryProcess(static () => { });
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            Assert.True(gauge.TryProcess(static () => { }));
        }

        AssertNoAllocationPerCall(GC.GetAllocatedBytesForCurrentThread() - before, 10_000);
    }

    [Fact]
    public void PartitionedLimiter_GivesEachPartitionItsOwnGauge()
    {
        using var limiter = PartitionedRateLimiter.Create<string, string>(key =>
            RateLimitPartition.Get(key, _ => NewGauge(1)));

        using var a = limiter.AttemptAcquire("a");
        using var b = limiter.AttemptAcquire("b");
        using var a2 = limiter.AttemptAcquire("a");

        Assert.True(a.IsAcquired);
        Assert.True(b.IsAcquired);
        Assert.False(a2.IsAcquired);
        Assert.True(a2.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan _));
    }

    // The runtime may allocate a few bytes once (tiering, on-stack replacement) while a loop runs;
    // one lease per call would be at least 24 bytes a call.
    private static void AssertNoAllocationPerCall(long allocatedBytes, int calls) =>
        Assert.True(allocatedBytes < calls, $"{allocatedBytes} bytes allocated over {calls} calls");
}
