using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Backpressure.Grpc;
using Backpressure.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Backpressure.Server.Tests;

/// <summary>
/// Long-lived calls under per-client shares, on the real server: two clients are two loopback source addresses
/// (127.0.0.1 and 127.0.0.2), which the server tells apart as it would two hosts.
/// </summary>
public sealed class FairShareTests
{
    [Fact]
    public async Task OneClientHoldingAllTheSlowSubscribesItMay_LeavesAnotherClientAbleToSubscribe()
    {
        // A method limit of 8: each client's share is a quarter, 2.
        await using var server = await RunningServer.StartAsync("--Backpressure:Grpc:MaxConcurrentCallsPerMethod=8");
        using GrpcChannel greedyChannel = ChannelFrom(IPAddress.Loopback, server);
        var greedy = new Flow.FlowClient(greedyChannel);
        var held = new List<AsyncServerStreamingCall<Item>>();
        RpcException? refused = null;
        try
        {
            for (int i = 0; i < 8 && refused is null; i++)
            {
                AsyncServerStreamingCall<Item> call = greedy.Subscribe(new SubscribeRequest { Rate = 5 });
                try
                {
                    Assert.True(await call.ResponseStream.MoveNext());
                    held.Add(call);
                }
                catch (RpcException e)
                {
                    refused = e;
                    call.Dispose();
                }
            }

            using GrpcChannel otherChannel = ChannelFrom(IPAddress.Parse("127.0.0.2"), server);
            using var other = new Flow.FlowClient(otherChannel).Subscribe(new SubscribeRequest { Rate = 5 });

            Assert.Equal(2, held.Count);
            Assert.NotNull(refused);
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("share", refused.Status.Detail, StringComparison.Ordinal);
            // A stream's end is its client's choice: no pushback estimated from hold times.
            Assert.Null(refused.Trailers.Get(BackpressureInterceptor.RetryPushbackTrailer));
            Assert.True(await other.ResponseStream.MoveNext());
        }
        finally
        {
            foreach (AsyncServerStreamingCall<Item> call in held)
            {
                call.Dispose();
            }
        }
    }

    [Fact]
    public async Task AWebSocketClientOverItsShareOfConnections_Gets503WithoutRetryAfter_WhileAnotherClientConnects()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:WebSockets:MaxConnectionsPerClient=2");
        Uri feed = server.WebSocketUrl("/ws/feed?rate=1");
        using ClientWebSocket first = await ConnectFromAsync(IPAddress.Loopback, feed);
        using ClientWebSocket second = await ConnectFromAsync(IPAddress.Loopback, feed);

        using var third = new ClientWebSocket();
        third.Options.CollectHttpResponseDetails = true;
        using var invoker = new HttpMessageInvoker(HandlerFrom(IPAddress.Loopback));
        await Assert.ThrowsAsync<WebSocketException>(() => third.ConnectAsync(feed, invoker, CancellationToken.None));
        using ClientWebSocket other = await ConnectFromAsync(IPAddress.Parse("127.0.0.2"), feed);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, third.HttpStatusCode);
        Assert.False(third.HttpResponseHeaders?.ContainsKey("Retry-After") ?? false);
        Assert.Equal(WebSocketState.Open, other.State);
    }

    private static GrpcChannel ChannelFrom(IPAddress source, RunningServer server) =>
        GrpcChannel.ForAddress(server.GrpcAddress, new GrpcChannelOptions { HttpHandler = HandlerFrom(source), DisposeHttpClient = true });

    private static async Task<ClientWebSocket> ConnectFromAsync(IPAddress source, Uri url)
    {
        var socket = new ClientWebSocket();
        using var invoker = new HttpMessageInvoker(HandlerFrom(source));
        await socket.ConnectAsync(url, invoker, CancellationToken.None);
        return socket;
    }

    // Connections from a chosen loopback address: Linux routes all of 127.0.0.0/8 to the loopback interface.
    private static SocketsHttpHandler HandlerFrom(IPAddress source) => new()
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
