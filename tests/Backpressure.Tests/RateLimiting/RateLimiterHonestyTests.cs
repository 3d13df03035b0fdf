using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.RateLimiting;

/// <summary>
/// Properties every one of our rate limiters keeps, checked on 200 seeded random arrival schedules
/// each: a refusal's RetryAfter is exact (one tick earlier is still refused; at RetryAfter, with
/// nothing else arriving, the request is admitted) and admissions never exceed the algorithm's bound.
/// </summary>
public sealed class RateLimiterHonestyTests
{
    public static TheoryData<string> Algorithms => ["fixed-window", "sliding-window", "token-bucket", "leaky-bucket"];

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void RetryAfter_IsExactlyWhenTheSameRequestIsAdmitted_OnRandomSchedules(string algorithm)
    {
        for (int seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var time = new FakeTimeProvider();
            using RateLimiter limiter = Create(algorithm, time);
            int refusals = 0;
            for (int arrival = 0; arrival < 60; arrival++)
            {
                time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 120)));
                using RateLimitLease lease = limiter.AttemptAcquire();
                if (lease.IsAcquired)
                {
                    continue;
                }

                refusals++;
                Assert.True(lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter), $"{algorithm} seed {seed}: refusal without RetryAfter");
                Assert.True(retryAfter > TimeSpan.Zero);

                time.Advance(retryAfter - TimeSpan.FromTicks(1));
                using (RateLimitLease early = limiter.AttemptAcquire())
                {
                    Assert.False(early.IsAcquired, $"{algorithm} seed {seed}: admitted a tick before RetryAfter {retryAfter}");
                }

                time.Advance(TimeSpan.FromTicks(1));
                using RateLimitLease retried = limiter.AttemptAcquire();
                Assert.True(retried.IsAcquired, $"{algorithm} seed {seed}: refused again after RetryAfter {retryAfter}");
            }

            Assert.True(refusals > 0 || seed > 0, $"{algorithm}: the schedules should provoke refusals");
        }
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Admissions_NeverExceedTheAlgorithmsBound_OnRandomSchedules(string algorithm)
    {
        for (int seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var time = new FakeTimeProvider();
            using RateLimiter limiter = Create(algorithm, time);
            long origin = time.GetUtcNow().Ticks;
            var admitted = new List<long>();
            for (int arrival = 0; arrival < 120; arrival++)
            {
                time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 60)));
                using RateLimitLease lease = limiter.AttemptAcquire();
                if (lease.IsAcquired)
                {
                    admitted.Add(time.GetUtcNow().Ticks - origin);
                }
            }

            AssertWithinBound(algorithm, admitted, seed);
        }
    }

    // The configurations below: 5 per second in windows; a bucket of 3 refilled at 5 per second;
    // a leak of 5 per second.
    private static readonly long Second = TimeSpan.TicksPerSecond;

    internal static RateLimiter Create(string algorithm, TimeProvider time) => algorithm switch
    {
        "fixed-window" => new FixedWindowLimiter(new FixedWindowLimiterOptions { PermitLimit = 5, Window = TimeSpan.FromSeconds(1) }, time),
        "sliding-window" => new SlidingWindowLimiter(new SlidingWindowLimiterOptions { PermitLimit = 5, Window = TimeSpan.FromSeconds(1), SegmentsPerWindow = 4 }, time),
        "token-bucket" => new TokenBucketLimiter(new TokenBucketLimiterOptions { TokenLimit = 3, TokensPerPeriod = 5, ReplenishmentPeriod = TimeSpan.FromSeconds(1) }, time),
        "leaky-bucket" => new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 5, ReplenishmentPeriod = TimeSpan.FromSeconds(1) }, time),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    private static void AssertWithinBound(string algorithm, List<long> admitted, int seed)
    {
        switch (algorithm)
        {
            case "fixed-window":
                Assert.All(admitted.GroupBy(t => t / Second), window => Assert.InRange(window.Count(), 1, 5));
                break;
            case "sliding-window":
                long segment = Second / 4;
                for (long start = 0; start <= admitted.LastOrDefault(); start += segment)
                {
                    int inWindow = admitted.Count(t => t >= start && t < start + Second);
                    Assert.True(inWindow <= 5, $"seed {seed}: {inWindow} admitted in the window from {start}");
                }

                break;
            case "token-bucket":
            case "leaky-bucket":
                long burst = algorithm == "token-bucket" ? 3 : 1;
                for (int i = 0; i < admitted.Count; i++)
                {
                    for (int j = i; j < admitted.Count; j++)
                    {
                        long allowed = burst + ((admitted[j] - admitted[i]) * 5 / Second);
                        Assert.True(j - i + 1 <= allowed, $"seed {seed}: {j - i + 1} admitted within {admitted[j] - admitted[i]} ticks");
                    }
                }

                break;
        }
    }
}
