using System.Net.WebSockets;

namespace Backpressure.Server.Tests;

/// <summary><c>/dashboard</c> in Debian's headless Chromium, driven by Playwright (tests/dashboard), while the server is under load.</summary>
public sealed class DashboardTests
{
    [Fact]
    public async Task UnderLoad_TheChartsUpdate_AndAQueueHeldOverItsThresholdShowsAsAFiringAlert()
    {
        // The shipped rule feed-queue-backlog (deepest feed queue over 40 messages), after 1 s instead of 10;
        // a subscriber that never reads holds its block-policy queue full at 50, and is not cut off for a minute.
        await using var server = await RunningServer.StartAsync(
            "--SeedRequest:HoldTime=00:00:01", "--Backpressure:Gauges:request:PermitLimit=4",
            "--Backpressure:Alerts:EvaluationInterval=00:00:00.200", "--Backpressure:Alerts:Rules:0:For=00:00:01",
            "--Backpressure:WebSockets:SlowClientGracePeriod=00:01:00");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        Task load = Task.Run(() => KeepTheGaugeFullAsync(server, stop.Token));
        using var neverReads = new ClientWebSocket();
        await neverReads.ConnectAsync(server.WebSocketUrl("/ws/feed?policy=block&queue=50&rate=2000&size=16000"), CancellationToken.None);
        string screenshot = Path.Combine(Path.GetTempPath(), $"dashboard-{Guid.NewGuid():N}.png");

        var (exit, output, error) = await ExternalCommand.RunAsync(
            "node", [RepositoryFolder.Path("tests", "dashboard", "check-dashboard.mjs"), server.BaseAddress.ToString().TrimEnd('/'), "feed-queue-backlog", screenshot, "30"]);
        await stop.CancelAsync();
        await load;

        Assert.True(exit == 0, $"check-dashboard.mjs exited {exit}:\n{output}{error}");
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is missing or empty");
        File.Delete(screenshot);
    }

    // Eight clients against a gauge of four, each holding a permit for a second: the gauge stays full and refuses the rest.
    private static async Task KeepTheGaugeFullAsync(RunningServer server, CancellationToken stop)
    {
        var clients = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 200 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    using HttpResponseMessage response = await server.Client.GetAsync("/request", stop);
                    if (response.StatusCode == System.Net.HttpStatusCode.TooManyRequests)
                    {
                        await Task.Delay(50, stop);
                    }
                }
                catch (OperationCanceledException)
                {
                }
            }
        }));
        await Task.WhenAll(clients);
    }
}
