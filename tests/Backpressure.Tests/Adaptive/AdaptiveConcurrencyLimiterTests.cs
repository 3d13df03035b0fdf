using System.Threading.RateLimiting;
using Backpressure.Adaptive;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.Adaptive;

public sealed class AdaptiveConcurrencyLimiterTests
{
    private readonly FakeTimeProvider _time = new();

    private AdaptiveConcurrencyLimiter NewLimiter(ConcurrencyLimitAlgorithm algorithm, int maxSamplesPerSecond = int.MaxValue) =>
        new(algorithm, new AdaptiveConcurrencyLimiterOptions { MaxSamplesPerSecond = maxSamplesPerSecond }, _time);

    [Fact]
    public void AttemptAcquire_WhenTheLimitIsFull_RefusesAtOnceWithRetryAfter()
    {
        using var limiter = NewLimiter(new FixedConcurrencyLimit(2));
        using RateLimitLease first = limiter.AttemptAcquire();
        using RateLimitLease second = limiter.AttemptAcquire();
        using RateLimitLease third = limiter.AttemptAcquire();

        Assert.True(first.IsAcquired);
        Assert.True(second.IsAcquired);
        Assert.False(third.IsAcquired);
        Assert.True(third.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.True(retryAfter > TimeSpan.Zero);
    }

    [Fact]
    public void AttemptAcquire_WhenRefused_ReturnsTheSameCachedLeaseEveryTime()
    {
        using var limiter = NewLimiter(new FixedConcurrencyLimit(1));
        using RateLimitLease held = limiter.AttemptAcquire();

        Assert.Same(limiter.AttemptAcquire(), limiter.AttemptAcquire());
    }

    [Fact]
    public void RetryAfter_IsTheMeanLatencyDividedByThePermitsInFlight()
    {
        using var limiter = NewLimiter(new FixedConcurrencyLimit(4));
        for (int i = 0; i < 64; i++)
        {
            RateLimitLease lease = limiter.AttemptAcquire();
            _time.Advance(TimeSpan.FromMilliseconds(400));
            lease.Dispose();
        }

        RateLimitLease[] held = [.. Enumerable.Range(0, 4).Select(_ => limiter.AttemptAcquire())];
        using RateLimitLease refused = limiter.AttemptAcquire();

        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.InRange(retryAfter, TimeSpan.FromMilliseconds(95), TimeSpan.FromMilliseconds(105));
        DisposeEach(held);
    }

    [Fact]
    public void DisposingALeaseTwice_ReturnsItsPermitOnce()
    {
        using var limiter = NewLimiter(new FixedConcurrencyLimit(2));
        RateLimitLease lease = limiter.AttemptAcquire();
        using RateLimitLease other = limiter.AttemptAcquire();

        lease.Dispose();
        lease.Dispose();

        Assert.Equal(1, limiter.InFlight);
    }

    [Fact]
    public void EveryTimedPermit_ReachesTheAlgorithmWithItsLatencyInFlightAndOutcome()
    {
        var algorithm = new RecordingAlgorithm(10);
        using var limiter = NewLimiter(algorithm);
        RateLimitLease first = limiter.AttemptAcquire();
        RateLimitLease second = limiter.AttemptAcquire();
        _time.Advance(TimeSpan.FromMilliseconds(30));
        first.Dispose();
        AdaptiveConcurrencyLimiter.MarkDropped(second);
        _time.Advance(TimeSpan.FromMilliseconds(20));
        second.Dispose();

        Assert.Collection(
            algorithm.Samples,
            s => Assert.Equal((TimeSpan.FromMilliseconds(30), 1, false, 1, TimeSpan.FromMilliseconds(30)), (s.Latency, s.InFlight, s.Dropped, s.Weight, s.CompletedAt)),
            s => Assert.Equal((TimeSpan.FromMilliseconds(50), 2, true, 1, TimeSpan.FromMilliseconds(50)), (s.Latency, s.InFlight, s.Dropped, s.Weight, s.CompletedAt)));
    }

    [Fact]
    public void ALoweredLimit_LetsWorkInFlightFinish_AndAdmitsAgainOnlyBelowIt()
    {
        var algorithm = new RecordingAlgorithm(3);
        using var limiter = NewLimiter(algorithm);
        RateLimitLease[] held = [.. Enumerable.Range(0, 3).Select(_ => limiter.AttemptAcquire())];
        algorithm.NextLimit = 1;

        held[0].Dispose();
        Assert.Equal(1, limiter.Limit);
        Assert.False(limiter.AttemptAcquire().IsAcquired);
        held[1].Dispose();
        Assert.False(limiter.AttemptAcquire().IsAcquired);
        held[2].Dispose();
        using RateLimitLease admitted = limiter.AttemptAcquire();
        Assert.True(admitted.IsAcquired);
    }

    [Fact]
    public void AtHighRates_OnlySomePermitsAreTimed_AndEachSampleCarriesTheWeightOfThoseItStandsFor()
    {
        var algorithm = new RecordingAlgorithm(1000);
        using var limiter = NewLimiter(algorithm, maxSamplesPerSecond: 1000);
        for (int i = 0; i < 100_000; i++)
        {
            RateLimitLease lease = limiter.AttemptAcquire();
            _time.Advance(TimeSpan.FromTicks(100));   // 100,000 permits a second
            lease.Dispose();
        }

        Assert.InRange(algorithm.Samples.Count, 500, 4000);
        Assert.Equal(100_000, algorithm.Samples.Sum(s => (long)s.Weight), 40_000d);
        Assert.True(algorithm.Samples[^1].Weight >= 32);
    }

    [Fact]
    public async Task ManyThreadsAcquiring_NeverHoldMoreThanTheLimit()
    {
        using var limiter = NewLimiter(new FixedConcurrencyLimit(8), maxSamplesPerSecond: 4000);
        int inFlight = 0, peak = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 100_000; i++)
            {
                using RateLimitLease lease = limiter.AttemptAcquire();
                if (lease.IsAcquired)
                {
                    int now = Interlocked.Increment(ref inFlight);
                    int seen;
                    while (now > (seen = Volatile.Read(ref peak)) && Interlocked.CompareExchange(ref peak, now, seen) != seen)
                    {
                    }

                    Interlocked.Decrement(ref inFlight);
                }
            }
        })));

        Assert.InRange(peak, 1, 8);
        Assert.Equal(0, limiter.InFlight);
        var statistics = (AdaptiveConcurrencyStatistics)limiter.GetStatistics()!;
        Assert.Equal(400_000, statistics.TotalSuccessfulLeases + statistics.TotalFailedLeases);
    }

    [Fact]
    public void AfterDispose_AcquiringThrows()
    {
        var limiter = NewLimiter(new FixedConcurrencyLimit(1));
        limiter.Dispose();
        Assert.Throws<ObjectDisposedException>(() => limiter.AttemptAcquire());
    }

    [Fact]
    public void AZeroPermitRequest_TakesNothing_AndSaysWhetherThereIsRoom()
    {
        using var limiter = NewLimiter(new FixedConcurrencyLimit(1));
        Assert.True(limiter.AttemptAcquire(0).IsAcquired);
        using RateLimitLease held = limiter.AttemptAcquire();
        Assert.False(limiter.AttemptAcquire(0).IsAcquired);
        Assert.Equal(1, limiter.InFlight);
    }

    [Fact]
    public void WithPacing_AboveHalfTheLimit_GrantsAreSpacedByTheMeanLatencyOverGainTimesLimit_WhilePermitsAreFree()
    {
        // Spacing: 1 s / (2 × 10) = 50 ms.
        using var limiter = new AdaptiveConcurrencyLimiter(
            new FixedConcurrencyLimit(10),
            new AdaptiveConcurrencyLimiterOptions { InitialLatencyEstimate = TimeSpan.FromSeconds(1), PacingGain = 2 },
            _time);
        List<RateLimitLease> held = [.. AcquireEach(limiter, 5)];

        held.Add(limiter.AttemptAcquire());
        Assert.True(held[^1].IsAcquired);
        Assert.False(limiter.AttemptAcquire().IsAcquired);
        _time.Advance(TimeSpan.FromMilliseconds(49));
        Assert.False(limiter.AttemptAcquire().IsAcquired);
        Assert.Equal(6, limiter.InFlight);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        held.Add(limiter.AttemptAcquire());
        Assert.True(held[^1].IsAcquired);
        Assert.False(limiter.AttemptAcquire().IsAcquired);
        DisposeEach(held);

        Assert.Equal(0, limiter.InFlight);
    }

    [Fact]
    public void WithPacing_TheSpacingFollowsTheMeanLatencyAsSoonAsSamplesMoveIt()
    {
        // The initial estimate of 1 s spaces paced grants 250 ms apart at a limit of 4; 8 ms work teaches a shorter spacing.
        using var limiter = new AdaptiveConcurrencyLimiter(
            new FixedConcurrencyLimit(4),
            new AdaptiveConcurrencyLimiterOptions { MaxSamplesPerSecond = int.MaxValue, PacingGain = 1 },
            _time);
        RateLimitLease[] first = AcquireEach(limiter, 3);
        _time.Advance(TimeSpan.FromMilliseconds(8));
        DisposeEach(first);

        for (int i = 0; i < 17; i++)
        {
            using RateLimitLease lease = limiter.AttemptAcquire();
            _time.Advance(TimeSpan.FromMilliseconds(8));
        }

        // 144 ms after the last paced grant; the mean latency is now about 77 ms, a spacing of about 19 ms.
        RateLimitLease[] second = AcquireEach(limiter, 3);
        Assert.False(limiter.AttemptAcquire().IsAcquired);
        _time.Advance(TimeSpan.FromMilliseconds(20));
        using RateLimitLease fourth = limiter.AttemptAcquire();
        Assert.True(fourth.IsAcquired);
        DisposeEach(second);
    }

    [Fact]
    public void WithPacing_UpToHalfTheLimit_ABurstIsGrantedAtOnce()
    {
        using var limiter = new AdaptiveConcurrencyLimiter(
            new FixedConcurrencyLimit(8), new AdaptiveConcurrencyLimiterOptions { PacingGain = 1.5 }, _time);
        for (int round = 0; round < 3; round++)
        {
            DisposeEach(AcquireEach(limiter, 4));
        }
    }

    [Fact]
    public void WithPacing_ARefusalWhilePermitsAreFree_AllocatesNothing()
    {
        using var limiter = new AdaptiveConcurrencyLimiter(
            new FixedConcurrencyLimit(2), new AdaptiveConcurrencyLimiterOptions { PacingGain = 1 }, _time);
        using RateLimitLease first = limiter.AttemptAcquire();
        using RateLimitLease second = limiter.AttemptAcquire();
        second.Dispose();
        Assert.False(limiter.AttemptAcquire().IsAcquired);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            limiter.AttemptAcquire().Dispose();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1, limiter.InFlight);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(-1)]
    [InlineData(101)]
    [InlineData(double.NaN)]
    public void PacingGain_OutOfRange_FailsNamingTheOption(double gain)
    {
        var e = Assert.Throws<ArgumentException>(() => new AdaptiveConcurrencyLimiter(
            new FixedConcurrencyLimit(1), new AdaptiveConcurrencyLimiterOptions { PacingGain = gain }));
        Assert.Equal(nameof(AdaptiveConcurrencyLimiterOptions.PacingGain), e.ParamName);
    }

    [Theory]
    [InlineData(0, nameof(AdaptiveConcurrencyLimiterOptions.MaxSamplesPerSecond))]
    [InlineData(-1, nameof(AdaptiveConcurrencyLimiterOptions.MaxSamplesPerSecond))]
    public void Options_OutOfRange_FailNamingTheOption(int samples, string option)
    {
        var e = Assert.Throws<ArgumentException>(() => new AdaptiveConcurrencyLimiter(
            new FixedConcurrencyLimit(1), new AdaptiveConcurrencyLimiterOptions { MaxSamplesPerSecond = samples }));
        Assert.Equal(option, e.ParamName);
    }

    // Acquires one permit at a time, count times, and asserts that each was granted.
    private static RateLimitLease[] AcquireEach(RateLimiter limiter, int count)
    {
        RateLimitLease[] leases = [.. Enumerable.Range(0, count).Select(_ => limiter.AttemptAcquire())];
        Assert.All(leases, lease => Assert.True(lease.IsAcquired));
        return leases;
    }

    private static void DisposeEach(IEnumerable<RateLimitLease> leases)
    {
        foreach (RateLimitLease lease in leases)
        {
            lease.Dispose();
        }
    }

    private sealed class RecordingAlgorithm(int limit) : ConcurrencyLimitAlgorithm
    {
        public List<ConcurrencySample> Samples { get; } = [];

        public int NextLimit { get; set; } = limit;

        public override int Limit => NextLimit;

        public override int Update(in ConcurrencySample sample)
        {
            Samples.Add(sample);
            return NextLimit;
        }
    }
}
