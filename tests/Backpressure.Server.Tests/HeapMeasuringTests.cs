namespace Backpressure.Server.Tests;

/// <summary>
/// Tests that measure something the whole test process shares, so another test running at the same
/// time would land in their measurement: the managed heap, or metrics (OpenTelemetry listens to meters
/// by name across the process). They run alone, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasuringTests
{
    public const string Name = "Measures the managed heap";
}
