using System.Threading.RateLimiting;
using Backpressure.Adaptive;
using Backpressure.Admission;
using Backpressure.RateLimiting;

namespace Backpressure.Tests;

// Every in-process limiter of ours against the one contract (tests/Shared/RateLimiterContract.cs).

public sealed class PressureGaugeContractTests : RateLimiterContract
{
    protected override bool PermitsComeBack => true;

    protected override RateLimiter NewLimiter() => new PressureGauge(new PressureGaugeOptions { PermitLimit = Limit }, Time);
}

public sealed class AdaptiveConcurrencyLimiterContractTests : RateLimiterContract
{
    protected override bool PermitsComeBack => true;

    protected override RateLimiter NewLimiter() => new AdaptiveConcurrencyLimiter(new FixedConcurrencyLimit(Limit), timeProvider: Time);
}

public sealed class FixedWindowLimiterContractTests : RateLimiterContract
{
    protected override bool PermitsComeBack => false;

    protected override RateLimiter NewLimiter() =>
        new FixedWindowLimiter(new FixedWindowLimiterOptions { PermitLimit = Limit, Window = TimeSpan.FromSeconds(10) }, Time);
}

public sealed class SlidingWindowLimiterContractTests : RateLimiterContract
{
    protected override bool PermitsComeBack => false;

    protected override RateLimiter NewLimiter() =>
        new SlidingWindowLimiter(new SlidingWindowLimiterOptions { PermitLimit = Limit, Window = TimeSpan.FromSeconds(10), SegmentsPerWindow = 5 }, Time);
}

public sealed class TokenBucketLimiterContractTests : RateLimiterContract
{
    protected override bool PermitsComeBack => false;

    protected override RateLimiter NewLimiter() =>
        new TokenBucketLimiter(new TokenBucketLimiterOptions { TokenLimit = Limit, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromSeconds(2) }, Time);
}

public sealed class LeakyBucketLimiterContractTests : RateLimiterContract
{
    protected override bool PermitsComeBack => false;

    // A leaky bucket lets permits through evenly: with no queue, the first at once and the next an interval later.
    protected override int Limit => 1;

    protected override RateLimiter NewLimiter() =>
        new LeakyBucketLimiter(new LeakyBucketLimiterOptions { PermitsPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0 }, Time);
}

/// <summary>A waiting room with no queue, in front of a gauge, seen as the <see cref="RateLimiter"/> it stands for.</summary>
public sealed class WaitingRoomContractTests : RateLimiterContract
{
    protected override bool PermitsComeBack => true;

    protected override RateLimiter NewLimiter() => new OneResource(new WaitingRoom<string>(
        new PressureGauge(new PressureGaugeOptions { PermitLimit = Limit }, Time),
        _ => new AdmissionRequest(new AdmissionPriority(Criticality.Normal, 0)),
        new WaitingRoomOptions { QueueLimit = 0 },
        Time));

    /// <summary>Asks a partitioned limiter for one resource, always the same; it adds nothing of its own.</summary>
    private sealed class OneResource(PartitionedRateLimiter<string> room) : RateLimiter
    {
        public override TimeSpan? IdleDuration => null;

        public override RateLimiterStatistics? GetStatistics() => room.GetStatistics("request");

        protected override RateLimitLease AttemptAcquireCore(int permitCount) => room.AttemptAcquire("request", permitCount);

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
            room.AcquireAsync("request", permitCount, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                room.Dispose();
            }

            base.Dispose(disposing);
        }

        protected override async ValueTask DisposeAsyncCore()
        {
            await room.DisposeAsync();
            await base.DisposeAsyncCore();
        }
    }
}
