using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using BenchmarkDotNet.Attributes;

namespace Backpressure.Benchmarks;

/// <summary>
/// One admitted <c>AttemptAcquire</c> (and dispose) of each of our rate limiters against the base
/// library's counterpart, with limits high enough never to refuse. The base library has no leaky
/// bucket; its nearest, a <see cref="System.Threading.RateLimiting.TokenBucketRateLimiter"/> with a
/// bucket of one, is shown beside ours.
/// </summary>
[MemoryDiagnoser]
public class RateLimiterBenchmarks
{
    private static readonly TimeSpan Long = TimeSpan.FromDays(1);

    private readonly FixedWindowLimiter _fixed = new(new FixedWindowLimiterOptions { PermitLimit = int.MaxValue, Window = Long });
    private readonly FixedWindowRateLimiter _baseFixed = new(new FixedWindowRateLimiterOptions { PermitLimit = int.MaxValue, Window = Long, QueueLimit = 0 });
    private readonly SlidingWindowLimiter _sliding = new(new SlidingWindowLimiterOptions { PermitLimit = int.MaxValue, Window = Long });
    private readonly SlidingWindowRateLimiter _baseSliding = new(new SlidingWindowRateLimiterOptions { PermitLimit = int.MaxValue, Window = Long, SegmentsPerWindow = 10, QueueLimit = 0 });
    private readonly TokenBucketLimiter _token = new(new TokenBucketLimiterOptions { TokenLimit = 1_000_000, TokensPerPeriod = 1_000_000_000, ReplenishmentPeriod = TimeSpan.FromSeconds(1) });
    private readonly TokenBucketRateLimiter _baseToken = new(new TokenBucketRateLimiterOptions { TokenLimit = int.MaxValue, TokensPerPeriod = int.MaxValue, ReplenishmentPeriod = TimeSpan.FromMilliseconds(1), QueueLimit = 0 });
    private readonly LeakyBucketLimiter _leaky = new(new LeakyBucketLimiterOptions { PermitsPerPeriod = 10_000_000, ReplenishmentPeriod = TimeSpan.FromSeconds(1) });

    [Benchmark]
    public bool FixedWindow_Ours() => Admit(_fixed);

    [Benchmark]
    public bool FixedWindow_BaseLibrary() => Admit(_baseFixed);

    [Benchmark]
    public bool SlidingWindow_Ours() => Admit(_sliding);

    [Benchmark]
    public bool SlidingWindow_BaseLibrary() => Admit(_baseSliding);

    [Benchmark]
    public bool TokenBucket_Ours() => Admit(_token);

    [Benchmark]
    public bool TokenBucket_BaseLibrary() => Admit(_baseToken);

    [Benchmark]
    public bool LeakyBucket_Ours() => Admit(_leaky);

    private static bool Admit(RateLimiter limiter)
    {
        using RateLimitLease lease = limiter.AttemptAcquire();
        return lease.IsAcquired;
    }
}
