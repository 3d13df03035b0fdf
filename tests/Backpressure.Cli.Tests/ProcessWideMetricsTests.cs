namespace Backpressure.Cli.Tests;

/// <summary>
/// Tests that read a server's <c>/metrics</c> and compare exact counts: OpenTelemetry listens to meters by
/// name across the whole process, so a second server running in the same test process at the same time
/// would add its own <c>Backpressure</c> counts. These run alone, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMetricsTests
{
    public const string Name = "Reads process-wide metrics";
}
