namespace Backpressure.Simulation;

/// <summary>A stretch of a scenario whose figures are reported on their own, and the ideal limit in it.</summary>
/// <param name="Name">What happens in it.</param>
/// <param name="Start">When it starts, in seconds.</param>
/// <param name="End">When it ends, in seconds.</param>
public sealed record Phase(string Name, double Start, double End);
