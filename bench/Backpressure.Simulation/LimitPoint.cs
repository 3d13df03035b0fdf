namespace Backpressure.Simulation;

/// <summary>The limit and the permits in flight at one moment of a run (every 100 ms).</summary>
public readonly record struct LimitPoint(double Time, int Limit, int InFlight);
