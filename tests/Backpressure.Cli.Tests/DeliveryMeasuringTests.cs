namespace Backpressure.Cli.Tests;

/// <summary>
/// Tests that measure what in-process WebSocket clients receive from an in-process server and expect every message
/// (a fast reader sees no gaps): on 2 cores, another test's load running beside them (the demo's servers, a load run)
/// can stall the process for the better part of a second, and a fast reader then falls behind its queue. These run
/// alone, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DeliveryMeasuringTests
{
    public const string Name = "Measures delivery to in-process clients";
}
