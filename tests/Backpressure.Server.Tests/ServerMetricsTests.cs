using System.Net.WebSockets;
using System.Text.RegularExpressions;

namespace Backpressure.Server.Tests;

/// <summary>The server's own queue instruments in <c>/metrics</c>: per kind and policy, never per connection.</summary>
[Collection(HeapMeasuringTests.Name)]
public sealed partial class ServerMetricsTests
{
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
