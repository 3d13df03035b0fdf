using Backpressure.Cli.Demo;

namespace Backpressure.Cli.Tests;

public sealed class DemoRunnerTests
{
    // The demo at small scale: 4 MiB calls under 64 MiB, 3 s per endpoint, a gauge of 4.
    private static readonly DemoSettings SmallDemo = new()
    {
        MemoryLimitMegabytes = 64,
        MemoryPerCallMegabytes = 4,
        DurationPerEndpoint = TimeSpan.FromSeconds(3),
        IoTime = TimeSpan.FromMilliseconds(300),
        CpuTime = TimeSpan.FromMilliseconds(2),
        GaugeLimit = 4,
    };

    [Fact]
    public async Task Demo_AtSmallScale_ShowsTheUnprotectedEndpointFailingAndTheProtectedOneServing()
    {
        DemoSettings settings = SmallDemo with { Concurrency = 30, Endpoints = ["/async", "/backpressure"] };

        var rows = await new DemoRunner(settings, TimeProvider.System).RunAsync();

        var unprotected = rows.Single(r => r.Endpoint == "/async");
        var protectedRow = rows.Single(r => r.Endpoint == "/backpressure");
        Assert.True(unprotected.Errors + unprotected.Timeouts > 0 || !unprotected.Survived,
            $"/async should fail under 30 × 4 MiB against 64 MiB: {unprotected}");
        Assert.True(protectedRow.Survived);
        Assert.True(protectedRow.Ok > 0);
        Assert.True(protectedRow.Refused > 0);
        Assert.Equal(0, protectedRow.Errors);
        Assert.InRange(protectedRow.PeakCallsInFlight, 1, settings.GaugeLimit);
        Assert.True(unprotected.PeakMemoryDemandBytes > protectedRow.PeakMemoryDemandBytes);
    }

    [Fact]
    public async Task Demo_WithRetryAfter_ClientsWaitAsToldAndRetry_AndTheLimitedEndpointStillServesWithoutErrors()
    {
        DemoSettings settings = SmallDemo with { Concurrency = 12, RetryAfter = true, Endpoints = ["/backpressure"] };

        DemoRow row = Assert.Single(await new DemoRunner(settings, TimeProvider.System).RunAsync());

        // Twelve clients on four permits: most calls are refused at first, and each refusal is retried after its wait.
        Assert.True(row.Retries > 0, $"no retries: {row}");
        Assert.True(row.Ok > 0);
        Assert.Equal(0, row.Errors);
        Assert.InRange(row.PeakCallsInFlight, 1, settings.GaugeLimit);
    }
}
