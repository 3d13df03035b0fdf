namespace Backpressure.Simulation;

/// <summary>What one contender did in one phase of a scenario.</summary>
public sealed record PhaseResult(
    Phase Phase,
    double IdealLimit,
    double Capacity,
    long Offered,
    long Admitted,
    long Refused,
    long FalseRefusals,
    long Completed,
    long WithinSlo,
    long Abandoned,
    double P50Milliseconds,
    double P99Milliseconds,
    double MeanLimit)
{
    /// <summary>The same figures for each kind of request (criticality or class), when the scenario has several.</summary>
    public IReadOnlyDictionary<string, PhaseResult> Groups { get; init; } = new Dictionary<string, PhaseResult>();

    /// <summary>Who was shed, in order and by cohort, when the scenario has a criticality mix; null otherwise.</summary>
    public SheddingOrder? Shedding { get; init; }

    /// <summary>With client retries: distinct calls started in the phase.</summary>
    public long Calls { get; init; }

    /// <summary>With client retries: calls that succeeded within the scenario's call SLO.</summary>
    public long CallsSucceeded { get; init; }

    /// <summary>With a client throttle: calls it refused before they reached the server.</summary>
    public long LocallyRefused { get; init; }

    /// <summary>With client retries: requests that reached the server per distinct call (1 means no amplification).</summary>
    public double Amplification => Calls == 0 ? 0 : Offered / (double)Calls;

    /// <summary>With client retries: calls that succeeded within the call SLO, per second.</summary>
    public double CallGoodput => CallsSucceeded / (Phase.End - Phase.Start);

    /// <summary>Of the requests offered, the share completed within the SLO: what a user of this kind saw.</summary>
    public double Availability => Offered == 0 ? 1 : WithinSlo / (double)Offered;

    /// <summary>Requests per second completed within the SLO.</summary>
    public double Goodput => WithinSlo / (Phase.End - Phase.Start);

    /// <summary>Goodput as a share of the service's capacity in the phase (capped by what was offered).</summary>
    public double GoodputShare => Goodput / Math.Min(Capacity, Offered / (Phase.End - Phase.Start));
}
