using Backpressure.Adaptive;
using Backpressure.Admission;

namespace Backpressure.Simulation;

/// <summary>
/// One way of limiting the simulated service: a limit algorithm behind the same
/// <see cref="AdaptiveConcurrencyLimiter"/>, or none at all.
/// </summary>
/// <param name="Name">How tables name it.</param>
/// <param name="CreateAlgorithm">Makes a fresh algorithm for a run, given the service's CPU use (0–1) for algorithms that read one; null for no limit.</param>
public sealed record Contender(string Name, Func<Func<double>, ConcurrencyLimitAlgorithm>? CreateAlgorithm)
{
    /// <summary>A waiting room in front of the limit, with these options (fresh for each run); null for none.</summary>
    public Func<WaitingRoomOptions>? Room { get; init; }

    /// <summary>Clients throttle themselves (<see cref="Backpressure.Client.AdaptiveThrottle"/>, the SRE book's defaults) before each attempt.</summary>
    public bool ClientThrottle { get; init; }

    /// <summary>Clients retry only within a <see cref="Backpressure.Client.RetryBudget"/> (10 % of requests, the defaults).</summary>
    public bool RetryBudget { get; init; }

    /// <summary>One limit (and room) per <see cref="Scenario.Classes"/> kind of request, as per-endpoint limits, instead of one for all.</summary>
    public bool PerClass { get; init; }

    /// <summary>No limit at all: every request is admitted.</summary>
    public static Contender NoLimit { get; } = new("no limit", null);

    /// <summary>A static limit.</summary>
    public static Contender Static(int limit, string? name = null) => new(name ?? $"static {limit}", _ => new FixedConcurrencyLimit(limit));
}
