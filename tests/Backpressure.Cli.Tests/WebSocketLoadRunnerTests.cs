using Backpressure.Cli.WebSockets;
using Backpressure.Server.WebSockets;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.Cli.Tests;

[Collection(DeliveryMeasuringTests.Name)]
public sealed class WebSocketLoadRunnerTests
{
    [Theory]
    [InlineData("drop-newest")]
    [InlineData("drop-oldest")]
    [InlineData("block")]
    public async Task Ingest_PoliteClientsStopOnPauseAndGoOnAtResume_AndTheServerProcessesEveryMessage(string policy)
    {
        await using var server = await RunningServer.StartAsync();
        var settings = new WebSocketLoadSettings
        {
            // Three times faster than the server processes; a queue of 500 leaves 100 messages (a third of a second) of headroom above the high watermark for a pause in flight.
            Url = server.WebSocketUrl($"/ws/ingest?policy={policy}&queue=500&rate=100"),
            Ingest = true,
            Clients = 2,
            SendRate = 300,
            Duration = TimeSpan.FromSeconds(4),
        };

        var results = await new WebSocketLoadRunner(settings, TimeProvider.System).RunAsync(CancellationToken.None);

        Assert.All(results, r =>
        {
            Assert.Null(r.Error);
            Assert.True(r.Pauses >= 1, "sending 3× faster than the server processes must fill its queue");
            Assert.Equal(r.Pauses, r.Resumes);
            Assert.Equal(0, r.Dropped);
            Assert.Equal(r.Sent, r.Processed);
            Assert.Equal(0, r.ErrorEvents);
            Assert.False(r.Disconnected);
            Assert.Equal("1000 done", r.Ending);
        });
    }

    [Fact]
    public async Task Feed_SlowClientsLoseMessagesToTheirOwnQueue_WhileFastOnesSeeNoGaps()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:WebSockets:MaxQueueBytes=4194304");
        var settings = new WebSocketLoadSettings
        {
            Url = server.WebSocketUrl("/ws/feed?policy=drop-oldest&queue=200&rate=300&size=16000"),
            Clients = 4,
            Slow = 1,
            ReadDelay = TimeSpan.FromMilliseconds(5),
            Duration = TimeSpan.FromSeconds(8),
        };

        // Warm the in-process server and client first: a fresh process stalls for a moment early on.
        await new WebSocketLoadRunner(settings with { Clients = 1, Slow = 0, Duration = TimeSpan.FromSeconds(2) }, TimeProvider.System).RunAsync(CancellationToken.None);
        var results = await new WebSocketLoadRunner(settings, TimeProvider.System).RunAsync(CancellationToken.None);

        WebSocketClientResult slow = Assert.Single(results, r => r.Class == "slow");
        Assert.True(slow.Gaps > 0, "a client reading slower than the feed loses messages under drop-oldest");
        Assert.False(slow.Disconnected);
        Assert.All(results.Where(r => r.Class == "fast"), r =>
        {
            Assert.Equal(0, r.Gaps);
            Assert.True(r.Received >= 2000, $"a fast client received {r.Received} of ~2400");
        });
        Assert.Equal(0, server.App.Services.GetRequiredService<WebSocketSessions>().GetStatistics().Endpoints["feed"].SlowDisconnects);
    }
}
