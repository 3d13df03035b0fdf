using Backpressure.Adaptive;

namespace Backpressure.Tests.Adaptive;

/// <summary>The algorithm alone, fed samples on a made-up timeline: no clock, no limiter.</summary>
public sealed class QueueingDelayLimitTests
{
    private static readonly TimeSpan s_noLoad = TimeSpan.FromMilliseconds(20);

    // Decisions by sample count alone (every 100), so each Feed below is exactly one decision.
    private static QueueingDelayLimit NewLimit(Action<QueueingDelayLimitOptions>? configure = null)
    {
        var options = new QueueingDelayLimitOptions { UpdateInterval = TimeSpan.FromMinutes(1) };
        configure?.Invoke(options);
        return new QueueingDelayLimit(options);
    }

    // Feeds a decision's worth of samples (the default 100) finishing at `at`, each granted `latency`
    // earlier with `inFlight` permits out; returns the limit after them.
    private static int Feed(QueueingDelayLimit limit, ref TimeSpan at, TimeSpan latency, int inFlight, int count = 100, bool dropped = false)
    {
        int result = limit.Limit;
        for (int i = 0; i < count; i++)
        {
            at += TimeSpan.FromMilliseconds(1);
            result = limit.Update(new ConcurrencySample(at + latency, latency, inFlight, dropped));
        }

        at += latency;
        return result;
    }

    // A limit that slow start took from 4 to `to` (a power of two) on no-load latency, full at each decision; `at` is
    // where its timeline stands. Bounded: a limit that never gets there is left where it stopped, for the test to see.
    private static QueueingDelayLimit SlowStartedTo(int to, out TimeSpan at, Action<QueueingDelayLimitOptions>? configure = null)
    {
        var limit = NewLimit(configure);
        at = TimeSpan.Zero;
        for (int decision = 0; decision < 20 && limit.Limit < to; decision++)
        {
            Feed(limit, ref at, s_noLoad, inFlight: limit.Limit);
        }

        return limit;
    }

    // Decisions in a row at no-load latency, each with `inFlight` permits out (the limit itself when null): the limit after each.
    private static int[] Decisions(QueueingDelayLimit limit, ref TimeSpan at, int count, int? inFlight = null)
    {
        int[] limits = new int[count];
        for (int i = 0; i < count; i++)
        {
            limits[i] = Feed(limit, ref at, s_noLoad, inFlight ?? limit.Limit);
        }

        return limits;
    }

    // Options that watch a resource read from `usage`, to be kept under 0.8.
    private static Action<QueueingDelayLimitOptions> Watching(Func<double> usage) => o =>
    {
        o.ResourceUsage = usage;
        o.ResourceUsageLimit = 0.8;
    };

    [Fact]
    public void FromCold_TheLimitDoublesPerDecision_WhileLatencyShowsNoQueue()
    {
        var limit = NewLimit();
        TimeSpan at = TimeSpan.Zero;

        Assert.Equal(4, limit.Limit);
        Assert.Equal(8, Feed(limit, ref at, s_noLoad, inFlight: 4));
        Assert.Equal(16, Feed(limit, ref at, s_noLoad, inFlight: 8));
        Assert.Equal(32, Feed(limit, ref at, s_noLoad, inFlight: 16));
    }

    [Fact]
    public void BelowMinSamplesPerUpdate_ADecisionWaitsForOneRoundTripOfSamples_NotForSeveral()
    {
        // The defaults (a decision on 5 samples, at most every 100 ms) with slow work held at a limit of 1.
        var limit = new QueueingDelayLimit(new QueueingDelayLimitOptions { InitialLimit = 1 });
        TimeSpan at = TimeSpan.Zero;
        var limits = new List<int>();

        // Each round trip of 500 ms, as many permits as the limit allows come back.
        for (int round = 0; round < 4; round++)
        {
            limits.Add(Feed(limit, ref at, TimeSpan.FromMilliseconds(500), inFlight: limit.Limit, count: limit.Limit));
        }

        // The first round only starts the interval; then slow start doubles once a round trip. Waiting for
        // five samples each time took ten round trips to reach 8 (five of them at a limit of 1).
        Assert.Equal([1, 2, 4, 8], limits);
    }

    [Fact]
    public void AQueueAtTheLimit_IsCutInProportion_ToWhereLatencyWouldBeWithinTolerance()
    {
        QueueingDelayLimit limit = SlowStartedTo(64, out TimeSpan at);

        Assert.Equal(64, limit.Limit);

        // Latency doubled at the limit: a queue as long as the work in service.
        int cut = Feed(limit, ref at, s_noLoad * 2, inFlight: 64);

        Assert.Equal((int)(64 * 1.2 / 2), cut);
    }

    [Theory]
    [InlineData(16, 1.13, 16)] // about 11 in flight at no load: a queue of 5 (1.6 √11) is within the widened band
    [InlineData(16, 0, 12)] // the proportional band alone (cut above 40 %) cuts the same queue
    [InlineData(64, 1.13, 51)] // about 43 in flight at no load: the proportional band stands, 1.13 √43 being under 20 % of 43
    public void TheQueueAllowedBeforeACut_GrowsAsTheSquareRootOfWhatIsInFlight_ForASmallService(int limitBefore, double allowance, int expected)
    {
        QueueingDelayLimit limit = SlowStartedTo(limitBefore, out TimeSpan at, o => o.VariabilityAllowance = allowance);

        Assert.Equal(limitBefore, limit.Limit);

        // Latency half again its no-load value, with the limit full.
        Assert.Equal(expected, Feed(limit, ref at, s_noLoad * 1.5, inFlight: limitBefore));
    }

    [Fact]
    public void SlowerWork_WhileTheLimitDoesNotBind_IsNeverCut()
    {
        var limit = NewLimit();
        TimeSpan at = TimeSpan.Zero;
        for (int i = 0; i < 10; i++)
        {
            Feed(limit, ref at, s_noLoad, inFlight: 10);
        }

        int before = limit.Limit;
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(before, Feed(limit, ref at, s_noLoad * 3, inFlight: 30));
        }
    }

    [Fact]
    public void WhileTheApplicationIsTheBottleneck_TheLimitStaysWithinTheHeadroomOfWhatIsInFlight()
    {
        var limit = NewLimit();
        TimeSpan at = TimeSpan.Zero;
        for (int i = 0; i < 200; i++)
        {
            Feed(limit, ref at, s_noLoad, inFlight: 5);
        }

        Assert.Equal(20, limit.Limit);
    }

    [Fact]
    public void ARunOfCutsThatLatencyIgnores_IsUndoneToWhereItBegan_EvenWhenNoCutAloneCouldBeJudged()
    {
        // Without the square-root allowance, which would let the last permits or so keep a queue of one and
        // stop the walk at 2: the run of cuts is what is under test.
        QueueingDelayLimit limit = SlowStartedTo(64, out TimeSpan at, o => o.VariabilityAllowance = 0);

        // A dependency got three times slower, and latency creeps up a little after every cut, so no cut
        // alone shows latency falling: each halves the limit, down to the floor.
        int[] limits = [64, 32, 16, 8, 4, 2, 1, 1];
        for (int i = 0; i < limits.Length - 1; i++)
        {
            Assert.Equal(limits[i + 1], Feed(limit, ref at, TimeSpan.FromMilliseconds(60 + i), inFlight: limits[i]));
        }

        // At the floor latency is back where the run of cuts began: cutting 64 to 1 took no latency away.
        int undone = Feed(limit, ref at, TimeSpan.FromMilliseconds(60), inFlight: 1);

        Assert.Equal(64, undone);
        Assert.Equal(TimeSpan.FromMilliseconds(60), limit.NoLoadLatency);
    }

    [Fact]
    public void ACutThatLatencyIgnores_IsUndone_AndTheSlowerLatencyBecomesTheBaseline()
    {
        QueueingDelayLimit limit = SlowStartedTo(64, out TimeSpan at);

        // A dependency got three times slower and the limit binds: the cut halves the limit...
        int cut = Feed(limit, ref at, s_noLoad * 3, inFlight: 64);
        Assert.Equal(32, cut);

        // ...but latency stays where it was, so no queue of ours was shrunk: the cut is undone.
        int undone = Feed(limit, ref at, s_noLoad * 3, inFlight: 32);
        Assert.Equal(64, undone);
        Assert.Equal(s_noLoad * 3, limit.NoLoadLatency);
    }

    [Theory]
    [InlineData(0.96, 26, 21)] // in proportion to the excess: 32 × 0.8 / 0.96
    [InlineData(4.0, 22, 15)] // five times over would cut to a fifth (6) in proportion; a decision cuts to 70 %
    public void ResourceUsageOverItsLimit_CutsInProportionToTheExcess_ByAtMostThirtyPercentADecision(double over, int first, int second)
    {
        double usage = 0.2;
        QueueingDelayLimit limit = SlowStartedTo(32, out TimeSpan at, Watching(() => usage));

        Assert.Equal(32, limit.Limit);
        usage = over;
        Assert.Equal(first, Feed(limit, ref at, s_noLoad, inFlight: 32));

        // Still past it at the next decision: cut again, from what was in flight.
        Assert.Equal(second, Feed(limit, ref at, s_noLoad, inFlight: first));

        usage = 0.75;
        int held = limit.Limit;
        Assert.Equal(held, Feed(limit, ref at, s_noLoad, inFlight: held));
    }

    [Fact]
    public void AfterACutForTheResource_TheLimitReturnsQuicklyToJustUnderWhereItRanOut_ThenProbesPastItSlowly()
    {
        double usage = 0.2;
        QueueingDelayLimit limit = SlowStartedTo(32, out TimeSpan at, Watching(() => usage));

        // The resource runs out at 32 in flight, twice over: cut by the most a decision may, 30 %, to 22.
        usage = 1.6;
        Assert.Equal(22, Feed(limit, ref at, s_noLoad, inFlight: 32));

        // Back to 28 (within 10 % of 32) in two decisions, where growth by 5 % a decision (at least one
        // permit) would take six...
        usage = 0.2;
        Assert.Equal([26, 28], Decisions(limit, ref at, 2));

        // ...then past it by a quarter of that pace: three permits in eight decisions, where 5 % a decision would add 14.
        Assert.Equal(31, Decisions(limit, ref at, 8)[^1]);
    }

    [Fact]
    public void GrowthGoesAtMostHalfWayToTheResourceLimit_TakingUsageAsProportionalToWhatIsInFlight()
    {
        var limit = NewLimit(Watching(() => 0.5));
        TimeSpan at = TimeSpan.Zero;

        // The first reading lets nothing grow. Then slow start would double; 4 in flight using half the
        // resource would reach its limit at 4 × 0.8 / 0.5 = 6.4, and growth goes half the way there.
        Assert.Equal(4, Feed(limit, ref at, s_noLoad, inFlight: 4));
        Assert.Equal(5, Feed(limit, ref at, s_noLoad, inFlight: 4));
        Assert.Equal(6, Feed(limit, ref at, s_noLoad, inFlight: 5));
    }

    [Fact]
    public void SlowStartUnderAResource_ClosesOnItsLimitWithoutOvershooting()
    {
        // Usage in proportion to what is in flight, which each decision below holds at the limit.
        QueueingDelayLimit? limit = null;
        limit = NewLimit(Watching(() => 0.05 * limit!.Limit));
        TimeSpan at = TimeSpan.Zero;

        // The resource runs out at 16 in flight. Held for the first reading, then doubling, then half the
        // remaining way each decision, then held within 10 % under the limit (0.75 ≥ 0.72).
        Assert.Equal([4, 8, 12, 14, 15, 15, 15], Decisions(limit, ref at, 7));
    }

    [Fact]
    public void OneLowResourceReadingAmongHighOnes_DoesNotLetTheLimitGrow()
    {
        double usage = 0.2;
        QueueingDelayLimit limit = SlowStartedTo(16, out TimeSpan at, Watching(() => usage));

        // Within 10 % under the limit: held.
        usage = 0.75;
        Assert.Equal(16, Feed(limit, ref at, s_noLoad, inFlight: 16));

        // Then a lower reading, as a GC heap's taken while less was in flight. Growth waits until the
        // high one is out of the last eight readings, and then goes half the way to 16 × 0.8 / 0.5.
        usage = 0.5;
        Assert.Equal([16, 16, 16, 16, 16, 16, 16, 20], Decisions(limit, ref at, 8, inFlight: 16));
    }

    [Fact]
    public void TheFirstResourceReading_FromColdAndAfterAnIdleSpell_LetsNothingGrow()
    {
        // A GC heap's reading dates from the last collection, so the first one comes before the work just
        // admitted has allocated: however low it is, the limit waits for the next.
        var limit = NewLimit(Watching(() => 0.05));
        TimeSpan at = TimeSpan.Zero;

        Assert.Equal([4, 8, 16], Decisions(limit, ref at, 3));

        // Idle for 5 s, then busy again: slow start resumes after one reading.
        at += TimeSpan.FromSeconds(5);
        Assert.Equal([16, 32], Decisions(limit, ref at, 2));
    }

    [Fact]
    public void MostlyDroppedWorkAtTheLimit_HalvesIt()
    {
        var limit = NewLimit(o => o.InitialLimit = 40);
        TimeSpan at = TimeSpan.Zero;

        Assert.Equal(20, Feed(limit, ref at, TimeSpan.FromSeconds(1), inFlight: 40, dropped: true));
    }

    [Fact]
    public void TheLimitNeverFallsBelowMinLimit_NorRisesAboveMaxLimit()
    {
        var limit = NewLimit(o => { o.MinLimit = 3; o.InitialLimit = 3; o.MaxLimit = 10; });
        TimeSpan at = TimeSpan.Zero;
        for (int i = 0; i < 20; i++)
        {
            Assert.InRange(Feed(limit, ref at, s_noLoad, inFlight: limit.Limit), 3, 10);
        }

        // A queue that shrinks with the limit (latency in proportion to the work admitted).
        for (int i = 0; i < 20; i++)
        {
            Assert.InRange(Feed(limit, ref at, s_noLoad * limit.Limit, inFlight: limit.Limit), 3, 10);
        }

        Assert.Equal(3, limit.Limit);
    }

    [Theory]
    [InlineData(nameof(QueueingDelayLimitOptions.MinLimit))]
    [InlineData(nameof(QueueingDelayLimitOptions.MaxLimit))]
    [InlineData(nameof(QueueingDelayLimitOptions.InitialLimit))]
    [InlineData(nameof(QueueingDelayLimitOptions.UpdateInterval))]
    [InlineData(nameof(QueueingDelayLimitOptions.SamplesPerUpdate))]
    [InlineData(nameof(QueueingDelayLimitOptions.GrowthTolerance))]
    [InlineData(nameof(QueueingDelayLimitOptions.HeadroomFactor))]
    [InlineData(nameof(QueueingDelayLimitOptions.BaselineWindow))]
    [InlineData(nameof(QueueingDelayLimitOptions.ResourceUsageLimit))]
    [InlineData(nameof(QueueingDelayLimitOptions.VariabilityAllowance))]
    public void AnOptionOutOfRange_FailsNamingIt(string option)
    {
        var options = new QueueingDelayLimitOptions();
        switch (option)
        {
            case nameof(QueueingDelayLimitOptions.MinLimit): options.MinLimit = 0; break;
            case nameof(QueueingDelayLimitOptions.MaxLimit): options.MaxLimit = 0; options.MinLimit = 1; break;
            case nameof(QueueingDelayLimitOptions.InitialLimit): options.InitialLimit = 5000; break;
            case nameof(QueueingDelayLimitOptions.UpdateInterval): options.UpdateInterval = TimeSpan.Zero; break;
            case nameof(QueueingDelayLimitOptions.SamplesPerUpdate): options.SamplesPerUpdate = 1; break;
            case nameof(QueueingDelayLimitOptions.GrowthTolerance): options.GrowthTolerance = double.NaN; break;
            case nameof(QueueingDelayLimitOptions.HeadroomFactor): options.HeadroomFactor = 0.5; break;
            case nameof(QueueingDelayLimitOptions.BaselineWindow): options.BaselineWindow = TimeSpan.Zero; break;
            case nameof(QueueingDelayLimitOptions.ResourceUsageLimit): options.ResourceUsageLimit = 1.5; break;
            case nameof(QueueingDelayLimitOptions.VariabilityAllowance): options.VariabilityAllowance = -1; break;
        }

        var e = Assert.Throws<ArgumentException>(() => new QueueingDelayLimit(options));
        Assert.Equal(option, e.ParamName);
        Assert.StartsWith(option, e.Message, StringComparison.Ordinal);
    }
}
