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
    /// <summary>Requests per second completed within the SLO.</summary>
    public double Goodput => WithinSlo / (Phase.End - Phase.Start);

    /// <summary>Goodput as a share of the service's capacity in the phase (capped by what was offered).</summary>
    public double GoodputShare => Goodput / Math.Min(Capacity, Offered / (Phase.End - Phase.Start));
}
