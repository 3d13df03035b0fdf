using System.Net.WebSockets;
using System.Text.RegularExpressions;

namespace Backpressure.Server.Tests;

/// <summary>The server's own queue instruments in <c>/metrics</c>: per kind and policy, never per connection.</summary>
[Collection(HeapMeasuringTests.Name)]
public sealed partial class ServerMetricsTests
{
    [Fact]
    public async Task StatsLatency_IsReportedPerPolicy_UnderThePoliciesNames()
    {
        await using var server = await RunningServer.StartAsync("--SeedRequest:HoldTime=00:00:00.050");
        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage response = await server.Client.GetAsync("/request");
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }

        using var stats = System.Text.Json.JsonDocument.Parse(await server.Client.GetStringAsync("/stats"));
        System.Text.Json.JsonElement latency = stats.RootElement.GetProperty("latency");

        // Keyed by the backpressure.policy tag; a tag read under another name once put every policy under "".
        Assert.False(latency.TryGetProperty("", out _), "latency was reported under an empty policy name");
        Assert.Equal(3, latency.GetProperty(ServerApplication.Gauges.Request).GetProperty("samples").GetInt32());
        Assert.True(latency.GetProperty(ServerApplication.Gauges.Request).GetProperty("p50_milliseconds").GetDouble() >= 40);
    }

    [Fact]
    public async Task AFullQueue_ShowsInTheDepthMetrics_PerKindAndPolicy_AndInTheDepthHistogram()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:WebSockets:SlowClientGracePeriod=00:01:00");
        using var neverReads = new ClientWebSocket();
        await neverReads.ConnectAsync(server.WebSocketUrl("/ws/feed?policy=block&queue=50&rate=2000&size=16000"), CancellationToken.None);

        string scrape = "";
        for (int i = 0; i < 100 && !scrape.Contains("backpressure_queue_depth_max{otel_scope_name=\"Backpressure\",backpressure_overflow_policy=\"block\",backpressure_queue=\"websocket.feed\"} 50", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
            scrape = await server.Client.GetStringAsync("/metrics");
        }

        await Task.Delay(TimeSpan.FromSeconds(1.5));
        scrape = await server.Client.GetStringAsync("/metrics");

        Assert.Contains("backpressure_queue_depth_max{otel_scope_name=\"Backpressure\",backpressure_overflow_policy=\"block\",backpressure_queue=\"websocket.feed\"} 50", scrape, StringComparison.Ordinal);
        Assert.Contains("backpressure_queue_depth{otel_scope_name=\"Backpressure\",backpressure_overflow_policy=\"block\",backpressure_queue=\"websocket.feed\"} 50", scrape, StringComparison.Ordinal);
        // Sampled every second, so at least one sample was taken after the queue was full: the sum holds a 50.
        Match sum = HistogramSum().Match(scrape);
        Assert.True(sum.Success && double.Parse(sum.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 50, "the connection-depth histogram has no sample of the full queue");
    }

    [GeneratedRegex("""backpressure_queue_connection_depth_sum\{otel_scope_name="Backpressure",backpressure_overflow_policy="block",backpressure_queue="websocket.feed"\} (\S+)""")]
    private static partial Regex HistogramSum();
}
