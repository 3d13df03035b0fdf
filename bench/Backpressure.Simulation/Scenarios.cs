using Backpressure.Admission;

namespace Backpressure.Simulation;

/// <summary>The adaptive-concurrency scenarios (issue 16) and the shedding scenarios (issue 17), each deterministic for its seed.</summary>
public static class Scenarios
{
    /// <summary>32 workers of 10 ms CPU and a 10 ms downstream call: 3200 requests/s, no-load latency 20 ms, ideal limit 64.</summary>
    public static ServiceShape Base { get; } = new(32, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10));

    /// <summary>S1: capacity halves at 60 s and is restored at 120 s, offered 75 % of the original capacity throughout.</summary>
    public static Scenario CapacityHalves { get; } = new()
    {
        Name = "S1",
        Description = "capacity halves at t = 60 s and is restored at t = 120 s; offered load 75 % of the original capacity (150 % of the halved)",
        Duration = 180,
        OfferedRate = _ => 0.75 * Base.Capacity,
        Shapes = [(0, Base), (60, Base with { Workers = 16 }), (120, Base)],
        Phases = [new("before", 10, 60), new("halved", 60, 120), new("restored", 120, 180)],
        Slo = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>8 workers of 2 ms CPU and a 48 ms downstream call: 4000 requests/s of CPU, no-load latency 50 ms.</summary>
    public static ServiceShape DownstreamBound { get; } = new(8, TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(48));

    /// <summary>S2: downstream latency triples for 40 s at half the CPU's capacity; with no cap on the downstream the service never saturates.</summary>
    public static Scenario SlowerDependency { get; } = SlowDownstream("S2", 0);

    /// <summary>S2 with a cap of 150 concurrent downstream calls: tripled latency saturates it (1013 requests/s).</summary>
    public static Scenario SlowerCappedDependency { get; } = SlowDownstream("S2-cap", 150);

    /// <summary>8 workers of 10 ms CPU and a 10 ms downstream call: 800 requests/s, ideal limit 16.</summary>
    public static ServiceShape Small { get; } = new(8, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10));

    /// <summary>S5: sustained overload at a multiple of capacity for <paramref name="minutes"/> simulated minutes.</summary>
    public static Scenario SustainedOverload(double multiple, double minutes = 10) => new()
    {
        Name = $"S5 {multiple}x",
        Description = $"sustained overload at {multiple}x capacity for {minutes} minutes",
        Duration = minutes * 60,
        OfferedRate = _ => multiple * Small.Capacity,
        Shapes = [(0, Small)],
        Phases = [new("overload", 10, minutes * 60)],
        Slo = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>S6: 5 % load for 5 minutes, then a step to 100 %.</summary>
    public static Scenario IdleThenStep { get; } = new()
    {
        Name = "S6",
        Description = "5 % load for 5 minutes, then a step to 100 % of capacity for 1 minute",
        Duration = 360,
        OfferedRate = t => (t < 300 ? 0.05 : 1.0) * Base.Capacity,
        Shapes = [(0, Base)],
        Phases = [new("idle", 10, 300), new("step", 300, 360)],
        Slo = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>S9: a 200 ms stop-the-world pause every 30 s, at 120 % of capacity.</summary>
    public static Scenario Pauses { get; } = new()
    {
        Name = "S9",
        Description = "a 200 ms stop-the-world pause every 30 s, offered 120 % of capacity, for 5 minutes",
        Duration = 300,
        OfferedRate = _ => 1.2 * Base.Capacity,
        Shapes = [(0, Base)],
        Pauses = [.. Enumerable.Range(1, 9).Select(i => (i * 30.0, 0.2))],
        Phases = [new("paused", 10, 300)],
        Slo = TimeSpan.FromMilliseconds(500),
    };

    private static Scenario SlowDownstream(string name, int cap)
    {
        ServiceShape normal = DownstreamBound with { DownstreamCap = cap };
        ServiceShape slow = normal with { DownstreamTime = TimeSpan.FromMilliseconds(148) };
        return new()
        {
            Name = name,
            Description = cap == 0
                ? "downstream latency triples (50 → 150 ms) for 40 s with no cap: in-flight triples, the service never saturates"
                : $"downstream latency triples for 40 s through at most {cap} concurrent downstream calls, which then saturate",
            Duration = 120,
            OfferedRate = _ => 0.5 * DownstreamBound.Capacity,
            Shapes = [(0, normal), (40, slow), (80, normal)],
            Phases = [new("before", 10, 40), new("slow", 40, 80), new("after", 80, 120)],
            Slo = TimeSpan.FromMilliseconds(500),
        };
    }

    /// <summary>S3: 60 % of capacity with bursts to three times that (180 %) for 200 ms every 2 s.</summary>
    public static Scenario Bursts { get; } = new()
    {
        Name = "S3",
        Description = "60 % of capacity, with bursts to 3x that (180 % of capacity) for 200 ms every 2 s",
        Duration = 70,
        OfferedRate = t => (t % 2 < 0.2 ? 3 : 1) * 0.6 * Base.Capacity,
        Shapes = [(0, Base)],
        Phases = [new("bursts", 10, 70)],
        Slo = TimeSpan.FromMilliseconds(500),
    };

    /// <summary>S3 spike: 60 % of capacity, then ten times capacity for one second at t = 30 s.</summary>
    public static Scenario Spike { get; } = new()
    {
        Name = "S3 spike",
        Description = "60 % of capacity, then 10x capacity for 1 s at t = 30 s, then 60 % again",
        Duration = 60,
        OfferedRate = t => t is >= 30 and < 31 ? 10 * Base.Capacity : 0.6 * Base.Capacity,
        Shapes = [(0, Base)],
        Phases = [new("before", 10, 30), new("spike", 30, 31), new("after", 31, 60)],
        Slo = TimeSpan.FromMilliseconds(500),
    };

    /// <summary>The criticality mix of S4: critical 20 %, normal 30 %, sheddable 30 %, batch 20 %.</summary>
    public static IReadOnlyList<(Criticality Criticality, double Share)> S4Mix { get; } =
        [(Criticality.Critical, 0.2), (Criticality.Normal, 0.3), (Criticality.Sheddable, 0.3), (Criticality.Batch, 0.2)];

    /// <summary>S4: three times capacity, mixed criticalities from 10,000 users, each request carrying its client's deadline.</summary>
    public static Scenario MixedPriorities { get; } = new()
    {
        Name = "S4",
        Description = "3x capacity from 10,000 users: critical 20 %, normal 30 %, sheddable 30 %, batch 20 %; requests carry their 1 s deadline",
        Duration = 70,
        OfferedRate = _ => 3 * Base.Capacity,
        Shapes = [(0, Base)],
        Phases = [new("overload", 10, 70)],
        Mix = S4Mix,
        SendDeadlines = true,
        Slo = TimeSpan.FromMilliseconds(500),
    };

    /// <summary>8 workers; a fast call is 1 ms of CPU; a slow one also waits 100 ms on a dependency that takes 8 calls at once (80/s).</summary>
    public static ServiceShape MixedCostShape { get; } = new(8, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(100), DownstreamCap: 8);

    /// <summary>The fast kind of S7: 95 % of calls, 1 ms of CPU.</summary>
    public static RequestClass Fast { get; } = new("fast", 0.95, TimeSpan.FromMilliseconds(1), TimeSpan.Zero);

    /// <summary>The slow kind of S7: 5 % of calls, 1 ms of CPU and 100 ms on the dependency.</summary>
    public static RequestClass Slow { get; } = new("slow", 0.05, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(100));

    /// <summary>S7: 5000 calls/s, 95 % fast and 5 % slow: the fast ones need 59 % of the CPU; the slow ones three times what their dependency takes.</summary>
    public static Scenario MixedCost { get; } = MixedCostScenario("S7", [Fast, Slow], 5000);

    /// <summary>S7's fast calls alone, at the same rate: what the fast class gets when nothing else is there.</summary>
    public static Scenario MixedCostFastAlone { get; } = MixedCostScenario("S7 fast alone", [Fast with { Share = 1 }], 4750);

    private static Scenario MixedCostScenario(string name, IReadOnlyList<RequestClass> classes, double rate) => new()
    {
        Name = name,
        Description = classes.Count == 1
            ? $"only the fast calls, {rate:F0}/s"
            : $"{rate:F0} calls/s: 95 % take 1 ms of CPU, 5 % also wait 100 ms on a dependency of 8 connections (80/s), offered 3x that",
        Duration = 70,
        OfferedRate = _ => rate,
        Shapes = [(0, MixedCostShape)],
        Classes = classes,
        Phases = [new("overload", 10, 70)],
        Slo = TimeSpan.FromMilliseconds(500),
    };

    /// <summary>
    /// S8, retry storm: distinct calls at twice the capacity of <see cref="Small"/>; a client retries a call refused
    /// (429/503) or timed out (1 s) up to <paramref name="retries"/> times, after about 50 ms. <paramref name="seed"/>
    /// picks one of many equally likely runs: one run's goodput varies by a few calls a second with its draws.
    /// </summary>
    public static Scenario RetryStorm(int retries, int seed = 1) => new()
    {
        Name = retries == 0 ? "S8 no retries" : "S8",
        Description = $"calls at 2x capacity (1600/s to a service of 800/s); clients retry a refused or timed-out call up to {retries} times after about 50 ms",
        Duration = 70,
        OfferedRate = _ => 2 * Small.Capacity,
        Shapes = [(0, Small)],
        Phases = [new("storm", 10, 70)],
        Retries = retries,
        Calls = true,
        Slo = TimeSpan.FromSeconds(2),
        CallSlo = TimeSpan.FromSeconds(2),
        Seed = seed,
    };
}
