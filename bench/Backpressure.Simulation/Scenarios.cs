namespace Backpressure.Simulation;

/// <summary>The adaptive-concurrency scenarios (issue 16), each deterministic for its seed.</summary>
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
}
