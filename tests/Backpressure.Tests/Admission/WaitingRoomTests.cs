using System.Threading.RateLimiting;
using Backpressure.Adaptive;
using Backpressure.Admission;
using Backpressure.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.Admission;

public sealed class WaitingRoomTests
{
    private readonly FakeTimeProvider _time = new();

    /// <summary>A request as these tests describe one: its criticality, cohort and deadline.</summary>
    private sealed record Call(Criticality Criticality = Criticality.Normal, int Cohort = 0, TimeSpan? Deadline = null);

    private WaitingRoom<Call> NewRoom(int permits = 1, WaitingRoomOptions? options = null, TimeSpan? holdTime = null) => new(
        new PressureGauge(new PressureGaugeOptions { PermitLimit = permits, InitialHoldTimeEstimate = holdTime ?? TimeSpan.FromMilliseconds(10) }, _time),
        call => new AdmissionRequest(new AdmissionPriority(call.Criticality, call.Cohort), call.Deadline),
        options ?? new WaitingRoomOptions(),
        _time);

    private static void AssertShed(RateLimitLease lease, Criticality criticality, ShedReason reason)
    {
        Assert.False(lease.IsAcquired);
        Assert.True(lease.TryGetMetadata(LimiterMetadata.ShedCriticality, out Criticality shedCriticality));
        Assert.True(lease.TryGetMetadata(LimiterMetadata.ShedReason, out ShedReason shedReason));
        Assert.True(lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter));
        Assert.Equal((criticality, reason), (shedCriticality, shedReason));
        Assert.True(retryAfter > TimeSpan.Zero, $"RetryAfter was {retryAfter}");
    }

    [Theory]
    [InlineData(nameof(WaitingRoomOptions.QueueLimit))]
    [InlineData(nameof(WaitingRoomOptions.MaxWait))]
    [InlineData(nameof(WaitingRoomOptions.Target))]
    [InlineData(nameof(WaitingRoomOptions.Interval))]
    public void AnOutOfRangeOption_FailsConstruction_NamingIt(string option)
    {
        var options = new WaitingRoomOptions();
        switch (option)
        {
            case nameof(WaitingRoomOptions.QueueLimit): options.QueueLimit = -1; break;
            case nameof(WaitingRoomOptions.MaxWait): options.MaxWait = TimeSpan.Zero; break;
            case nameof(WaitingRoomOptions.Target): options.Target = TimeSpan.FromMinutes(11); break;
            default: options.Interval = TimeSpan.FromTicks(9_999); break;
        }

        var e = Assert.Throws<ArgumentException>(() => NewRoom(options: options));

        Assert.Equal(option, e.ParamName);
        Assert.StartsWith($"{option} must be", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.1, 5, 100)] // the floor: Meta's 5 ms target and 100 ms interval
    [InlineData(2, 20, 400)] // ten service times, an interval of twenty targets
    [InlineData(20, 200, 1000)] // the interval at most 1 s
    [InlineData(200, 500, 1000)] // the target at most half of MaxWait (1 s)
    public void ByDefault_TheTargetIsTenServiceTimes_WithinItsBounds(double serviceMilliseconds, double targetMilliseconds, double intervalMilliseconds)
    {
        using var room = NewRoom(holdTime: TimeSpan.FromMilliseconds(serviceMilliseconds));

        Assert.Equal(TimeSpan.FromMilliseconds(targetMilliseconds), room.Target);
        Assert.Equal(TimeSpan.FromMilliseconds(intervalMilliseconds), room.Interval);
    }

    [Fact]
    public async Task WithRoom_ARequestIsAdmittedAtOnce_AndCounted()
    {
        using var room = NewRoom();

        using RateLimitLease lease = await room.AcquireAsync(new Call(Criticality.Batch));

        Assert.True(lease.IsAcquired);
        Assert.Equal(new AdmissionCounts(1, 0, 0), room.GetCounts(Criticality.Batch));
    }

    [Fact]
    public async Task AWaiter_IsAdmittedWhenAPermitComesBack()
    {
        using var room = NewRoom();
        RateLimitLease first = await room.AcquireAsync(new Call());

        ValueTask<RateLimitLease> waiting = room.AcquireAsync(new Call());
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, room.QueuedCount);
        first.Dispose();

        using RateLimitLease admitted = await waiting;
        Assert.True(admitted.IsAcquired);
        Assert.Equal(0, room.QueuedCount);
    }

    [Fact]
    public async Task BehindOurAdaptiveLimit_AWaiterIsAdmittedWhenAnyPermitComesBack_ThroughTheRoomOrNot()
    {
        // The adaptive limiter reports its returns itself, so the room hands out the limiter's own leases, unwrapped.
        var limiter = new AdaptiveConcurrencyLimiter(new FixedConcurrencyLimit(1), timeProvider: _time);
        using var room = new WaitingRoom<Call>(limiter, call => new AdmissionRequest(new AdmissionPriority(call.Criticality, 0)), timeProvider: _time);
        RateLimitLease throughTheRoom = await room.AcquireAsync(new Call());
        ValueTask<RateLimitLease> first = room.AcquireAsync(new Call());
        Assert.False(first.IsCompleted);

        throughTheRoom.Dispose();
        RateLimitLease admitted = await first;
        Assert.True(admitted.IsAcquired);
        admitted.Dispose();

        RateLimitLease direct = limiter.AttemptAcquire();
        ValueTask<RateLimitLease> second = room.AcquireAsync(new Call());
        Assert.False(second.IsCompleted);
        direct.Dispose();
        using RateLimitLease alsoAdmitted = await second;
        Assert.True(alsoAdmitted.IsAcquired);
        Assert.Equal(0, room.QueuedCount);
    }

    [Fact]
    public async Task TheMostCriticalWaiter_IsAdmittedFirst_WhateverTheOrderOfArrival()
    {
        using var room = NewRoom();
        RateLimitLease held = await room.AcquireAsync(new Call());
        ValueTask<RateLimitLease> batch = room.AcquireAsync(new Call(Criticality.Batch));
        ValueTask<RateLimitLease> normal = room.AcquireAsync(new Call(Criticality.Normal));
        ValueTask<RateLimitLease> critical = room.AcquireAsync(new Call(Criticality.Critical));

        held.Dispose();
        RateLimitLease first = await critical;
        Assert.False(normal.IsCompleted || batch.IsCompleted);
        first.Dispose();
        RateLimitLease second = await normal;
        Assert.False(batch.IsCompleted);
        second.Dispose();
        using RateLimitLease third = await batch;

        Assert.True(third.IsAcquired);
    }

    [Fact]
    public async Task AWaiter_ThatWaitsMaxWait_IsShedAsHavingWaitedTooLong()
    {
        using var room = NewRoom(options: new WaitingRoomOptions { MaxWait = TimeSpan.FromMilliseconds(50) });
        using RateLimitLease held = await room.AcquireAsync(new Call());
        ValueTask<RateLimitLease> waiting = room.AcquireAsync(new Call(Criticality.Sheddable));

        _time.Advance(TimeSpan.FromMilliseconds(49));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        AssertShed(await waiting, Criticality.Sheddable, ShedReason.WaitedTooLong);
        Assert.Equal(0, room.QueuedCount);
    }

    [Fact]
    public async Task ARequestWhoseDeadlineIsShorterThanTheServiceTime_IsRefusedAtOnce()
    {
        using var room = NewRoom(holdTime: TimeSpan.FromMilliseconds(100));
        using RateLimitLease held = await room.AcquireAsync(new Call());

        RateLimitLease hopeless = await room.AcquireAsync(new Call(Deadline: TimeSpan.FromMilliseconds(99)));
        ValueTask<RateLimitLease> hopeful = room.AcquireAsync(new Call(Deadline: TimeSpan.FromMilliseconds(150)));

        AssertShed(hopeless, Criticality.Normal, ShedReason.Deadline);
        Assert.False(hopeful.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(50));
        AssertShed(await hopeful, Criticality.Normal, ShedReason.WaitedTooLong);
    }

    [Fact]
    public async Task AFullQueue_RefusesAnEquallyCriticalArrival_ButACriticalOneTakesTheLeastCriticalPlace()
    {
        using var room = NewRoom(options: new WaitingRoomOptions { QueueLimit = 2 });
        using RateLimitLease held = await room.AcquireAsync(new Call());
        ValueTask<RateLimitLease> batch = room.AcquireAsync(new Call(Criticality.Batch));
        ValueTask<RateLimitLease> normal = room.AcquireAsync(new Call(Criticality.Normal));

        RateLimitLease batchAgain = await room.AcquireAsync(new Call(Criticality.Batch));
        ValueTask<RateLimitLease> critical = room.AcquireAsync(new Call(Criticality.Critical));

        AssertShed(batchAgain, Criticality.Batch, ShedReason.QueueFull);
        AssertShed(await batch, Criticality.Batch, ShedReason.Displaced);
        Assert.False(normal.IsCompleted || critical.IsCompleted);
        Assert.Equal(2, room.QueuedCount);
    }

    [Fact]
    public async Task AStandingQueue_ServesTheNewestFirst_AndShedsWhoeverWaitedMoreThanTwiceTheTarget()
    {
        var options = new WaitingRoomOptions { Target = TimeSpan.FromMilliseconds(5), Interval = TimeSpan.FromMilliseconds(100), MaxWait = TimeSpan.FromSeconds(5), ShedByPriority = false };
        using var room = NewRoom(options: options);
        RateLimitLease held = await room.AcquireAsync(new Call());

        // One arrival a millisecond while the permit is held: the queue is never empty.
        var waiters = new List<Task<RateLimitLease>>();
        for (int ms = 0; ms < 102; ms++)
        {
            waiters.Add(room.AcquireAsync(new Call(Cohort: ms)).AsTask());
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        // The queue stands from t = 101 ms; the room looks at it again by t = 106 ms.
        _time.Advance(TimeSpan.FromMilliseconds(4));
        Assert.True(room.IsQueueStanding);
        foreach (Task<RateLimitLease> waitedLong in waiters[..85])
        {
            AssertShed(await waitedLong, Criticality.Normal, ShedReason.WaitedTooLong);
        }

        Assert.All(waiters[97..], waiter => Assert.False(waiter.IsCompleted));
        held.Dispose();
        using RateLimitLease newest = await waiters[^1];
        Assert.True(newest.IsAcquired);
        Assert.All(waiters[97..^1], waiter => Assert.False(waiter.IsCompleted));
        _time.Advance(TimeSpan.FromMilliseconds(11));
        foreach (Task<RateLimitLease> waitedLong in waiters[97..^1])
        {
            AssertShed(await waitedLong, Criticality.Normal, ShedReason.WaitedTooLong);
        }
    }

    [Fact]
    public async Task AQueueThatEmptiesWithinTheInterval_IsNotStanding_AndServesInOrder()
    {
        var options = new WaitingRoomOptions { Target = TimeSpan.FromMilliseconds(5), Interval = TimeSpan.FromMilliseconds(100), ShedByPriority = false };
        using var room = NewRoom(options: options);
        RateLimitLease held = await room.AcquireAsync(new Call());
        ValueTask<RateLimitLease> first = room.AcquireAsync(new Call());
        _time.Advance(TimeSpan.FromMilliseconds(50));
        ValueTask<RateLimitLease> second = room.AcquireAsync(new Call());

        Assert.False(room.IsQueueStanding);
        held.Dispose();

        RateLimitLease firstLease = await first;
        Assert.True(firstLease.IsAcquired);
        Assert.False(second.IsCompleted);
        firstLease.Dispose();
        using RateLimitLease secondLease = await second;
        Assert.True(secondLease.IsAcquired);
    }

    [Fact]
    public async Task UnderSustainedOverload_TheThresholdShedsBatchFirst_NeverCritical_AndRisesAgainAfterwards()
    {
        var options = new WaitingRoomOptions { QueueLimit = 0, Interval = TimeSpan.FromMilliseconds(100) };
        using var room = NewRoom(permits: 10, options: options);
        Criticality[] mix = [Criticality.Critical, Criticality.Normal, Criticality.Normal, Criticality.Sheddable, Criticality.Batch];

        // Each 10 ms: 25 arrivals of the mix (cohorts spread), of which the limit's 10 permits can take 10.
        for (int step = 0; step < 100; step++)
        {
            var held = new List<RateLimitLease>();
            for (int i = 0; i < 25; i++)
            {
                held.Add(room.AttemptAcquire(new Call(mix[i % mix.Length], Cohort: (step * 25 + i) % AdmissionPriority.CohortCount)));
            }

            held.ForEach(lease => lease.Dispose());
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(Criticality.Normal, room.Threshold.Criticality);
        Assert.Equal(0, room.GetCounts(Criticality.Critical).ShedByPriority);
        Assert.True(room.GetCounts(Criticality.Batch).ShedByPriority > 350, $"batch shed by priority: {room.GetCounts(Criticality.Batch)}");

        for (int step = 0; step < 100; step++)
        {
            room.AttemptAcquire(new Call(Criticality.Batch, Cohort: step % AdmissionPriority.CohortCount)).Dispose();
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(AdmissionPriority.FromRank(AdmissionPriority.RankCount - 1), room.Threshold);
        long shed = room.GetCounts(Criticality.Batch).Shed;
        for (int cohort = 0; cohort < AdmissionPriority.CohortCount; cohort++)
        {
            room.AttemptAcquire(new Call(Criticality.Batch, cohort)).Dispose();
        }

        Assert.Equal(shed, room.GetCounts(Criticality.Batch).Shed);
    }

    [Fact]
    public async Task ACancelledWaiter_LeavesTheQueue_AndTakesNoPermit()
    {
        using var room = NewRoom();
        RateLimitLease held = await room.AcquireAsync(new Call());
        using var cancel = new CancellationTokenSource();
        ValueTask<RateLimitLease> waiting = room.AcquireAsync(new Call(), cancellationToken: cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);
        Assert.Equal(0, room.QueuedCount);
        held.Dispose();
        using RateLimitLease next = room.AttemptAcquire(new Call());
        Assert.True(next.IsAcquired);
    }

    [Fact]
    public async Task ANonWaitingAcquire_DoesNotJumpAQueueOfEquallyCriticalWaiters_ButACriticalOneMay()
    {
        using var room = NewRoom(permits: 2);
        RateLimitLease held = await room.AcquireAsync(new Call());
        RateLimitLease other = await room.AcquireAsync(new Call());
        ValueTask<RateLimitLease> waiting = room.AcquireAsync(new Call());
        other.Dispose();
        using RateLimitLease admitted = await waiting;

        held.Dispose();
        ValueTask<RateLimitLease> nextWaiter = room.AcquireAsync(new Call());
        using RateLimitLease critical = room.AttemptAcquire(new Call(Criticality.Critical));

        Assert.True(nextWaiter.IsCompleted, "the permit returned went to the waiter");
        (await nextWaiter).Dispose();
        Assert.False(critical.IsAcquired);
    }

    [Fact]
    public async Task BehindATokenBucket_AWaiterIsAdmittedWhenTokensComeBack()
    {
        using var room = new WaitingRoom<Call>(
            new TokenBucketLimiter(new TokenBucketLimiterOptions { TokenLimit = 1, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromMilliseconds(20) }, _time),
            call => new AdmissionRequest(new AdmissionPriority(call.Criticality, 0)),
            new WaitingRoomOptions { Target = TimeSpan.FromMilliseconds(50) },
            _time);
        using RateLimitLease first = await room.AcquireAsync(new Call());

        ValueTask<RateLimitLease> waiting = room.AcquireAsync(new Call());
        Assert.False(waiting.IsCompleted);
        for (int i = 0; i < 20 && !waiting.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        using RateLimitLease second = await waiting;
        Assert.True(second.IsAcquired);
    }

    [Fact]
    public async Task Dispose_RefusesEveryWaiter_AndDisposesTheLimiter()
    {
        var room = NewRoom();
        RateLimitLease held = await room.AcquireAsync(new Call());
        ValueTask<RateLimitLease> waiting = room.AcquireAsync(new Call(Criticality.Batch));

        room.Dispose();

        AssertShed(await waiting, Criticality.Batch, ShedReason.LimitFull);
        Assert.Throws<ObjectDisposedException>(() => room.Limiter.AttemptAcquire());
        Assert.Throws<ObjectDisposedException>(() => room.AttemptAcquire(new Call()));
        held.Dispose();
    }

    [Fact]
    public async Task ARefusal_AllocatesNothing()
    {
        using var room = NewRoom(options: new WaitingRoomOptions { QueueLimit = 0 });
        var call = new Call();
        using RateLimitLease held = await room.AcquireAsync(call);
        room.AttemptAcquire(call).Dispose();
        (await room.AcquireAsync(call)).Dispose();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            room.AttemptAcquire(call).Dispose();
            (await room.AcquireAsync(call)).Dispose();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task MarkDropped_OnALeaseOfTheRoom_ReachesTheAdaptiveLimiterBehindIt()
    {
        var algorithm = new RecordingLimit();
        using var room = new WaitingRoom<Call>(
            new AdaptiveConcurrencyLimiter(algorithm, new AdaptiveConcurrencyLimiterOptions { MaxSamplesPerSecond = 1_000_000 }, _time),
            call => new AdmissionRequest(new AdmissionPriority(call.Criticality, 0)),
            timeProvider: _time);

        RateLimitLease lease = await room.AcquireAsync(new Call());
        AdaptiveConcurrencyLimiter.MarkDropped(lease);
        lease.Dispose();

        Assert.Equal([true], algorithm.Dropped);
    }

    private sealed class RecordingLimit : ConcurrencyLimitAlgorithm
    {
        public List<bool> Dropped { get; } = [];

        public override int Limit => 10;

        public override int Update(in ConcurrencySample sample)
        {
            Dropped.Add(sample.Dropped);
            return Limit;
        }
    }
}
