namespace Backpressure.Server.Tests;

/// <summary>
/// Tests that measure the managed heap, which is the whole test process's: they run alone, after the
/// parallel tests, so that no other test's allocations land in their measurement.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasuringTests
{
    public const string Name = "Measures the managed heap";
}
