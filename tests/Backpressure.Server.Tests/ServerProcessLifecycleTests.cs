using System.Net;
using System.Net.WebSockets;
using Backpressure.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Backpressure.Server.Tests;

/// <summary>The server as a real process: how it refuses a bad setting at start, and how it stops on SIGTERM.</summary>
public sealed class ServerProcessLifecycleTests
{
    [Theory]
    [InlineData("--Backpressure:Stor=redis", "unknown setting 'Backpressure:Stor'")]
    [InlineData("--Backpressure:Gauges:backpressure:PermitLimt=3", "unknown setting 'Backpressure:Gauges:backpressure:PermitLimt'")]
    [InlineData("--Backpressure:Gauges:backpresure:PermitLimit=3", "unknown setting 'Backpressure:Gauges:backpresure'")]
    [InlineData("--Backpressure:RateLimits:token-bucket:ReplenishmentPeriod=abc", "'Backpressure:RateLimits:token-bucket:ReplenishmentPeriod'")]
    [InlineData("--Backpressure:WebSockets:MaxMessageBytes=2147483647", "MaxMessageBytes must be between 1 and")]
    [InlineData("--Backpressure:Shutdown:DrainTimeout=-00:00:01", "DrainTimeout must be between")]
    [InlineData("--Backpressure:WebSockets:SocketSendBufferBytes=100", "SocketSendBufferBytes must be 0 (the operating system's choice) or between 4096 and")]
    public async Task ABadSetting_EndsStartUpWithOneLineNamingIt_AndExitCode2(string setting, string expected)
    {
        (int exit, string output, string error) = await ExternalCommand.RunAsync(
            "dotnet",
            [Path.Combine(AppContext.BaseDirectory, "Backpressure.Server.dll"), "--urls=http://127.0.0.1:0", "--Backpressure:Grpc:Url=http://127.0.0.1:0", setting],
            timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(ServerApplication.InvalidConfigurationExitCode, exit);
        string[] lines = (output + error).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string line = Assert.Single(lines);
        Assert.StartsWith("backpressure-server: invalid configuration: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAddressInUse_EndsStartUpWithOneLine_AndExitCode3()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        (int exit, string output, string error) = await ExternalCommand.RunAsync(
            "dotnet",
            [Path.Combine(AppContext.BaseDirectory, "Backpressure.Server.dll"), $"--urls=http://127.0.0.1:{port}", "--Backpressure:Grpc:Url=http://127.0.0.1:0"],
            timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(ServerApplication.CannotListenExitCode, exit);
        string line = Assert.Single((output + error).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("backpressure-server: cannot listen: ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SigTerm_LetsAdmittedCallsFinish_RefusesNewOnesWith503_EndsStreamsWith1001AndUnavailable_AndExitsWithinTheDrainTime()
    {
        // Each /request call holds a gauge permit for 3 s; the drain allows 15 s.
        using ServerProcess server = ServerProcess.Start(
            ["--SeedRequest:HoldTime=00:00:03", "--Backpressure:Shutdown:DrainTimeout=00:00:15", "--Logging:LogLevel:Backpressure=Information"]);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        await server.WaitUntilReadyAsync(client);

        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{server.Port}/ws/feed?rate=10"), CancellationToken.None);
        Task<WebSocketCloseStatus?> socketEnd = ReadUntilCloseAsync(socket);
        using var channel = GrpcChannel.ForAddress(server.GrpcUrl);
        using var subscription = new Flow.FlowClient(channel).Subscribe(new SubscribeRequest { Rate = 10 });
        Task<StatusCode> streamEnd = ReadUntilEndAsync(subscription);

        HttpResponseMessage[] inFlight = [];
        Task<HttpResponseMessage[]> calls = Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.GetAsync(server.Url("/request"))));
        // The ten are admitted well within the first of their three seconds.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(calls.IsCompleted, "the admitted calls hold for 3 s and should still be in flight");
        long terminated = Environment.TickCount64;
        server.Terminate();
        await Task.Delay(TimeSpan.FromMilliseconds(300));

        using HttpResponseMessage late = await client.GetAsync(server.Url("/overhead/bare"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, late.StatusCode);
        Assert.NotNull(late.Headers.RetryAfter);

        try
        {
            inFlight = await calls;
            Assert.All(inFlight, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await socketEnd.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(StatusCode.Unavailable, await streamEnd.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(20)));
            double took = (Environment.TickCount64 - terminated) / 1000.0;
            Assert.True(took < 15, $"the server took {took:F1} s to exit, more than its 15 s drain time");
            Assert.Contains("draining 12 requests in flight", server.Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (HttpResponseMessage response in inFlight)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task ABadGrpcCall_IsLoggedInOneLine_WithoutAStackTrace()
    {
        using ServerProcess server = ServerProcess.Start(["--Logging:LogLevel:Default=Information"]);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        await server.WaitUntilReadyAsync(client);
        using var channel = GrpcChannel.ForAddress(server.GrpcUrl);

        using var call = new Flow.FlowClient(channel).Subscribe(new SubscribeRequest { PayloadBytes = -1 });
        StatusCode status = await ReadUntilEndAsync(call);
        server.Terminate();
        await server.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(StatusCode.InvalidArgument, status);
        string[] lines = server.Output.Split('\n');
        string logged = Assert.Single(lines, l => l.Contains("/backpressure.v1.Flow/Subscribe", StringComparison.Ordinal));
        Assert.Contains("ended InvalidArgument: payload_bytes must be", logged, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    private static async Task<WebSocketCloseStatus?> ReadUntilCloseAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, patience.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return result.CloseStatus;
            }
        }
    }

    private static async Task<StatusCode> ReadUntilEndAsync(AsyncServerStreamingCall<Item> call)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (await call.ResponseStream.MoveNext(patience.Token))
            {
            }

            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }
}
