using System.Net;
using System.Net.WebSockets;

namespace Backpressure.Server.Tests;

/// <summary>Which listener serves what, wrong methods, and idle WebSocket sessions, on the real server.</summary>
public sealed class ListenerTests
{
    private static readonly string[] Operational = ["/stats", "/metrics", "/alerts", "/dashboard", "/dashboard/dashboard.js"];

    [Fact]
    public async Task WithAManagementListener_OperationalEndpointsAreServedThereOnly_AndServiceEndpointsNotThere()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:Management:Url=http://127.0.0.1:0");
        Uri management = server.ManagementAddress!;

        foreach (string path in Operational)
        {
            using HttpResponseMessage there = await server.Client.GetAsync(new Uri(management, path));
            using HttpResponseMessage service = await server.Client.GetAsync(path);
            Assert.True(there.StatusCode == HttpStatusCode.OK, $"{path} on the management listener: {there.StatusCode}");
            Assert.True(service.StatusCode == HttpStatusCode.NotFound, $"{path} on the service listener: {service.StatusCode}");
        }

        using HttpResponseMessage work = await server.Client.GetAsync(new Uri(management, "/overhead/bare"));
        Assert.Equal(HttpStatusCode.NotFound, work.StatusCode);
        using HttpResponseMessage served = await server.Client.GetAsync("/overhead/bare");
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task WithoutAManagementListener_OperationalEndpointsAreServedOnTheServiceListener()
    {
        await using var server = await RunningServer.StartAsync();

        Assert.Null(server.ManagementAddress);
        foreach (string path in Operational)
        {
            using HttpResponseMessage response = await server.Client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode}");
        }
    }

    [Fact]
    public async Task ManagementHosts_RestrictTheOperationalEndpointsToThoseHostNames()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:Management:Hosts:0=ops.internal");

        using var other = new HttpRequestMessage(HttpMethod.Get, "/stats");
        using HttpResponseMessage refused = await server.Client.SendAsync(other);
        using var named = new HttpRequestMessage(HttpMethod.Get, "/stats");
        named.Headers.Host = "ops.internal";
        using HttpResponseMessage served = await server.Client.SendAsync(named);

        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Theory]
    [InlineData("/stats")]
    [InlineData("/dashboard")]
    [InlineData("/sync")]
    [InlineData("/ws/feed")]
    public async Task TheGrpcListener_ServesNoHttpEndpoint(string path)
    {
        await using var server = await RunningServer.StartAsync();
        using var h2c = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        using HttpResponseMessage response = await h2c.GetAsync(new Uri(server.GrpcAddress, path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("POST", "/metrics")]
    [InlineData("DELETE", "/metrics")]
    [InlineData("POST", "/limited/fixed-window")]
    [InlineData("PUT", "/stats")]
    [InlineData("POST", "/sync")]
    [InlineData("POST", "/ws/feed")]
    [InlineData("DELETE", "/dashboard")]
    public async Task AWrongMethod_IsAnswered405(string method, string path)
    {
        await using var server = await RunningServer.StartAsync();

        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using HttpResponseMessage response = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task AnIdleIngestSession_IsClosedWith1001_WhileAFeedThatDeliversStaysOpen()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:WebSockets:IdleTimeout=00:00:02");
        using var idle = new ClientWebSocket();
        await idle.ConnectAsync(server.WebSocketUrl("/ws/ingest"), CancellationToken.None);
        using var busy = new ClientWebSocket();
        await busy.ConnectAsync(server.WebSocketUrl("/ws/feed?rate=20"), CancellationToken.None);
        var buffer = new byte[4096];

        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        WebSocketReceiveResult closing = await idle.ReceiveAsync(buffer, patience.Token);
        // The feed has delivered all along: read for another idle period and a half, and it is still open.
        var reading = System.Diagnostics.Stopwatch.StartNew();
        while (reading.Elapsed < TimeSpan.FromSeconds(3))
        {
            WebSocketReceiveResult message = await busy.ReceiveAsync(buffer, patience.Token);
            Assert.Equal(WebSocketMessageType.Text, message.MessageType);
        }

        Assert.Equal(WebSocketMessageType.Close, closing.MessageType);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, closing.CloseStatus);
        Assert.Equal("idle for 2 s", closing.CloseStatusDescription);
        Assert.Equal(WebSocketState.Open, busy.State);
    }
}
