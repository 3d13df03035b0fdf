using Backpressure.Admission;
using Backpressure.Simulation;

namespace Backpressure.Simulation.Tests;

/// <summary>
/// The shedding targets of issue 17, checked on the deterministic simulation with the real waiting room in
/// front of the real adaptive limit: exact assertions on figures that are the same on every run.
/// </summary>
public sealed class WaitingRoomScenarioTests
{
    [Fact]
    public void ARunWithAWaitingRoom_GivesTheSameFiguresEveryTime()
    {
        PhaseResult first = Simulation.Run(Scenarios.MixedPriorities, Shedding.Room)["overload"];
        PhaseResult second = Simulation.Run(Scenarios.MixedPriorities, Shedding.Room)["overload"];

        Assert.Equal(first with { Groups = second.Groups, Shedding = second.Shedding }, second);
        Assert.Equal(first.Groups.Keys, second.Groups.Keys);
        Assert.All(first.Groups, group => Assert.Equal(group.Value with { Groups = second.Groups[group.Key].Groups }, second.Groups[group.Key]));
        Assert.Equal((first.Shedding!.Decisions, first.Shedding.Inversions), (second.Shedding!.Decisions, second.Shedding.Inversions));
    }

    [Fact]
    public void S4_AtThreeTimesCapacity_CriticalRequestsStayAvailable_AndLevelsAreShedInOrder()
    {
        PhaseResult overload = Simulation.Run(Scenarios.MixedPriorities, Shedding.Room)["overload"];
        double[] availability = [.. new[] { "critical", "normal", "sheddable", "batch" }.Select(level => overload.Groups[level].Availability)];

        Assert.True(availability[0] >= 0.999, $"critical availability {availability[0]:P2}");
        Assert.True(availability[0] >= availability[1] && availability[1] >= availability[2] && availability[2] >= availability[3], $"availability by level {string.Join(", ", availability)}");
        Assert.True(overload.Shedding!.InversionShare <= 0.001, $"inversions {overload.Shedding.InversionShare:P3}");
        Assert.True(overload.Goodput / overload.Capacity >= 0.9, $"goodput {overload.Goodput / overload.Capacity:P1} of capacity");
    }

    [Fact]
    public void S4_WithoutAWaitingRoom_EveryLevelIsShedAlike()
    {
        PhaseResult overload = Simulation.Run(Scenarios.MixedPriorities, Shedding.Limit)["overload"];

        Assert.True(overload.Groups["critical"].Availability < 0.5, $"critical availability {overload.Groups["critical"].Availability:P1}");
        Assert.True(overload.Shedding!.InversionShare > 0.3, $"inversions {overload.Shedding.InversionShare:P1}");
    }

    [Fact]
    public void S4_ThePartlyShedLevel_LosesMostlyTheSameCohortsFromOneSecondToTheNext()
    {
        SheddingOrder order = Simulation.Run(Scenarios.MixedPriorities, Shedding.Room)["overload"].Shedding!;

        double normal = Assert.Contains(Criticality.Normal, order.CohortOverlap);
        Assert.True(normal >= 0.95, $"overlap {normal:P1}");
    }

    [Fact]
    public void S3_WithTheDefaults_BurstsAreAbsorbedWithUnderOnePercentRefused_AndP99WithinTargetPlusTwiceP50()
    {
        RunResult run = Simulation.Run(Scenarios.Bursts, Shedding.Room);
        PhaseResult bursts = run["bursts"];

        Assert.True(bursts.Refused < 0.01 * bursts.Offered, $"refused {bursts.Refused} of {bursts.Offered}");
        Assert.True(bursts.P99Milliseconds <= run.RoomTarget.TotalMilliseconds + (2 * bursts.P50Milliseconds), $"p99 {bursts.P99Milliseconds} ms, p50 {bursts.P50Milliseconds} ms, target {run.RoomTarget}");
    }

    [Fact]
    public void S3_ATargetOfOneServiceTime_ShedsPartOfEachBurst_ThoughLessThanTheLimitAlone()
    {
        PhaseResult alone = Simulation.Run(Scenarios.Bursts, Shedding.Limit)["bursts"];
        PhaseResult tight = Simulation.Run(Scenarios.Bursts, Shedding.TightRoom)["bursts"];

        Assert.True(tight.Refused > 0.01 * tight.Offered, $"refused {tight.Refused} of {tight.Offered}");
        Assert.True(tight.Refused < alone.Refused / 1.5, $"refused with the room {tight.Refused}, alone {alone.Refused}");
    }

    [Fact]
    public void S3_ATenfoldSpike_KeepsGoodputAtCapacity_AndLeavesNoCollapseBehind()
    {
        RunResult run = Simulation.Run(Scenarios.Spike, Shedding.Room);

        Assert.True(run["spike"].Goodput >= 0.95 * run["spike"].Capacity, $"goodput in the spike {run["spike"].Goodput}/s");
        Assert.True(run["after"].GoodputShare >= 0.95, $"goodput after {run["after"].GoodputShare:P1}");
    }

    // Not contender 1 (one limit for both classes behind one room): every class has the same criticality there, so the
    // room sheds fast and slow calls alike for the slow class's overload (docs/benchmarks.md); per-endpoint rooms are the answer.
    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(3)]
    public void S7_TheFastClass_KeepsNinetyFivePercentOfItsGoodputAlone_WhileTheSlowOneIsOverloaded(int contender)
    {
        double alone = Simulation.Run(Scenarios.MixedCostFastAlone, Shedding.Limit)["overload"].Goodput;
        PhaseResult fast = Simulation.Run(Scenarios.MixedCost, Shedding.MixedCostContenders[contender])["overload"].Groups["fast"];

        Assert.True(fast.Goodput >= 0.95 * alone, $"{Shedding.MixedCostContenders[contender].Name}: fast {fast.Goodput}/s, alone {alone}/s");
    }

    [Fact]
    public void S7_PerEndpointLimits_KeepTheSlowClassServedNearItsDependencysCapacity()
    {
        PhaseResult slow = Simulation.Run(Scenarios.MixedCost, Shedding.MixedCostContenders[2])["overload"].Groups["slow"];

        Assert.True(slow.Goodput >= 0.85 * 80, $"slow goodput {slow.Goodput}/s of the dependency's 80/s");
    }
}
