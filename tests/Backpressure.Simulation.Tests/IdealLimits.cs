using Backpressure.Simulation;

namespace Backpressure.Simulation.Tests;

/// <summary>The oracles' ideal limits, found once by the same sweeps the head-to-head runs.</summary>
public sealed class IdealLimits
{
    public IdealLimits()
    {
        IReadOnlyList<RunResult> s1 = HeadToHead.Sweep(Scenarios.CapacityHalves, 64);
        Halved = HeadToHead.LimitOf(HeadToHead.Oracle(s1, "halved"));
        Restored = HeadToHead.LimitOf(HeadToHead.Oracle(s1, "restored"));
        Overloaded = HeadToHead.LimitOf(HeadToHead.Oracle(HeadToHead.Sweep(HeadToHead.Overloaded(Scenarios.Base), 64), "overload"));
    }

    /// <summary>S1 while capacity is halved.</summary>
    public int Halved { get; }

    /// <summary>S1 once capacity is restored.</summary>
    public int Restored { get; }

    /// <summary>The base service at 120 % of its capacity (S6 after the step, S9).</summary>
    public int Overloaded { get; }
}
