namespace Backpressure.Simulation;

/// <summary>A kind of request with costs of its own: its CPU time and its downstream call (none when zero), each varying as the shape says.</summary>
/// <param name="Name">How tables name it (an endpoint).</param>
/// <param name="Share">Its share of arrivals.</param>
/// <param name="CpuTime">Its mean CPU time.</param>
/// <param name="DownstreamTime">Its mean downstream time; zero for no downstream call.</param>
public sealed record RequestClass(string Name, double Share, TimeSpan CpuTime, TimeSpan DownstreamTime);
