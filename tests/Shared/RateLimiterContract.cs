using System.Threading.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Testing;

/// <summary>
/// What every limiter of ours promises, whatever it limits (concurrency or rate) and wherever its state lives
/// (this process or Redis): one suite that each limiter's test class inherits, as the base library's limiters
/// share <c>BaseRateLimiterTests</c>. Compiled into each test project that has limiters to check.
/// </summary>
/// <remarks>
/// Decisions are asked for with <see cref="RateLimiter.AcquireAsync"/>, which every limiter answers for sure
/// (a Redis limiter's <see cref="RateLimiter.AttemptAcquire"/> may only say "ask asynchronously"). The clock is
/// <see cref="Time"/>, frozen unless a test advances it.
/// </remarks>
public abstract class RateLimiterContract
{
    /// <summary>The clock every limiter under test reads.</summary>
    protected FakeTimeProvider Time { get; } = new();

    /// <summary>True for a concurrency limit (a returned lease frees its permits); false for a rate limit (nothing comes back).</summary>
    protected abstract bool PermitsComeBack { get; }

    /// <summary>How many single permits <see cref="NewLimiter"/>'s limiter admits on the frozen clock before it refuses.</summary>
    protected virtual int Limit => 3;

    /// <summary>The most permits one acquire may ask for.</summary>
    protected virtual int MostPermitsPerAcquire => Limit;

    /// <summary>A limiter that, on the frozen clock, admits exactly <see cref="Limit"/> single permits and then refuses.</summary>
    protected abstract RateLimiter NewLimiter();

    private async Task<List<RateLimitLease>> TakeAllAsync(RateLimiter limiter)
    {
        var held = new List<RateLimitLease>();
        for (int i = 0; i < Limit; i++)
        {
            held.Add(await limiter.AcquireAsync());
        }

        Assert.All(held, lease => Assert.True(lease.IsAcquired, $"refused within the limit of {Limit}"));
        return held;
    }

    [Fact]
    public async Task UpToTheLimit_EveryPermitIsGranted_ThenARefusalSaysWhenToComeBack()
    {
        using RateLimiter limiter = NewLimiter();
        List<RateLimitLease> held = await TakeAllAsync(limiter);

        using RateLimitLease refused = await limiter.AcquireAsync();

        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter), "a refusal carries RetryAfter");
        Assert.True(retryAfter > TimeSpan.Zero, $"RetryAfter was {retryAfter}");
        held.ForEach(lease => lease.Dispose());
    }

    [Fact]
    public async Task ACallerThatWaitsRetryAfter_OnceTheWorkHeldHasEnded_IsAdmitted()
    {
        using RateLimiter limiter = NewLimiter();
        List<RateLimitLease> held = await TakeAllAsync(limiter);
        using RateLimitLease refused = await limiter.AcquireAsync();
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));

        held.ForEach(lease => lease.Dispose());
        Time.Advance(retryAfter);
        using RateLimitLease retried = await limiter.AcquireAsync();

        Assert.True(retried.IsAcquired, $"refused again after waiting the {retryAfter} it was told");
    }

    [Fact]
    public async Task Statistics_CountEveryGrantAndRefusal()
    {
        using RateLimiter limiter = NewLimiter();
        List<RateLimitLease> held = await TakeAllAsync(limiter);
        using RateLimitLease refused = await limiter.AcquireAsync();
        using RateLimitLease refusedAgain = await limiter.AcquireAsync();

        RateLimiterStatistics statistics = Assert.IsAssignableFrom<RateLimiterStatistics>(limiter.GetStatistics());

        Assert.Equal(Limit, statistics.TotalSuccessfulLeases);
        Assert.Equal(2, statistics.TotalFailedLeases);
        Assert.Equal(0, statistics.CurrentAvailablePermits);
        held.ForEach(lease => lease.Dispose());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(int.MaxValue)]
    public async Task MorePermitsThanOneAcquireMayTake_ThrowsInsteadOfWaitingForever(int beyond)
    {
        using RateLimiter limiter = NewLimiter();
        int tooMany = (int)Math.Min(int.MaxValue, (long)MostPermitsPerAcquire + beyond);

        Assert.Throws<ArgumentOutOfRangeException>(() => limiter.AttemptAcquire(tooMany));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await limiter.AcquireAsync(tooMany));
        using RateLimitLease stillFree = await limiter.AcquireAsync();
        Assert.True(stillFree.IsAcquired);
    }

    [Fact]
    public async Task NegativePermits_Throw()
    {
        using RateLimiter limiter = NewLimiter();

        Assert.Throws<ArgumentOutOfRangeException>(() => limiter.AttemptAcquire(-1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await limiter.AcquireAsync(-1));
    }

    [Fact]
    public async Task ZeroPermits_AnswerWhetherThereIsRoom_AndTakeNothing()
    {
        using RateLimiter limiter = NewLimiter();

        using RateLimitLease roomy = await limiter.AcquireAsync(0);
        List<RateLimitLease> held = await TakeAllAsync(limiter);
        using RateLimitLease full = await limiter.AcquireAsync(0);

        Assert.True(roomy.IsAcquired);
        Assert.False(full.IsAcquired);
        held.ForEach(lease => lease.Dispose());
    }

    [Fact]
    public async Task AnAlreadyCancelledRequest_IsCancelled_AndTakesNothing()
    {
        using RateLimiter limiter = NewLimiter();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await limiter.AcquireAsync(1, cancelled.Token));
        List<RateLimitLease> held = await TakeAllAsync(limiter);
        held.ForEach(lease => lease.Dispose());
    }

    [Fact]
    public async Task ALeaseDisposedTwice_GivesBackItsPermitsOnce()
    {
        using RateLimiter limiter = NewLimiter();
        List<RateLimitLease> held = await TakeAllAsync(limiter);

        held[0].Dispose();
        held[0].Dispose();
        using RateLimitLease third = await limiter.AcquireAsync();
        using RateLimitLease fourth = await limiter.AcquireAsync();

        Assert.Equal(PermitsComeBack, third.IsAcquired);
        Assert.False(fourth.IsAcquired);
        held.ForEach(lease => lease.Dispose());
    }

    [Fact]
    public async Task AfterDispose_EveryAcquireThrowsObjectDisposed()
    {
        RateLimiter limiter = NewLimiter();
        limiter.Dispose();

        Assert.Throws<ObjectDisposedException>(() => limiter.AttemptAcquire());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await limiter.AcquireAsync());
    }

    [Fact]
    public async Task AfterDisposeAsync_EveryAcquireThrowsObjectDisposed()
    {
        RateLimiter limiter = NewLimiter();
        await limiter.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await limiter.AcquireAsync());
    }

    [Fact]
    public async Task ALeaseReturnedAfterTheLimiterIsDisposed_DoesNotThrow()
    {
        RateLimiter limiter = NewLimiter();
        RateLimitLease lease = await limiter.AcquireAsync();
        limiter.Dispose();

        lease.Dispose();
    }
}
