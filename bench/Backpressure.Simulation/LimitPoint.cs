namespace Backpressure.Simulation;

/// <summary>The limit, the permits in flight, and a waiting room's threshold and queue at one moment of a run (every 100 ms).</summary>
public readonly record struct LimitPoint(double Time, int Limit, int InFlight, int ThresholdRank = 0, int Waiting = 0);
