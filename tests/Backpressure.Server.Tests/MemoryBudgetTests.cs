using System.Net.WebSockets;
using Backpressure.Queues;
using Backpressure.Server.Grpc;
using Backpressure.Server.WebSockets;
using Backpressure.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.Server.Tests;

/// <summary>The server-wide memory budget for per-client queues, and the visibility of sends blocked right now, on the real server.</summary>
[Collection(HeapMeasuringTests.Name)]
public sealed class MemoryBudgetTests
{
    private const long Budget = 2 * 1024 * 1024;

    [Fact]
    public async Task NeverReadingClients_AreHeldToTheBudget_WhileFastClientsOnTheSameServerLoseNoMessage()
    {
        // Each never-reading client may queue up to 1 MiB (the per-connection limit); twenty of them could hold 20 MiB.
        // The grace period is long, so that the budget, not the slow-client rule, is what holds them.
        await using var server = await RunningServer.StartAsync(
            $"--Backpressure:MemoryBudget:QueueBytes={Budget}", "--Backpressure:WebSockets:SlowClientGracePeriod=00:01:00");
        QueueMemoryBudget budget = server.App.Services.GetRequiredService<QueueMemoryBudget>();
        var stalled = new List<ClientWebSocket>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                stalled.Add(await TestClients.ConnectNeverReadingAsync(server.WebSocketUrl("/ws/feed?queue=1000&size=16384&rate=500")));
            }

            Task<(long Read, long Gaps)>[] fast = [.. Enumerable.Range(0, 5).Select(_ => Task.Run(() => ReadFeedAsync(server.WebSocketUrl("/ws/feed?rate=100&size=64"), TimeSpan.FromSeconds(5))))];
            (long Read, long Gaps)[] results = await Task.WhenAll(fast);

            Assert.True(budget.PressureEvents > 0, "twenty stalled clients at 8 MB/s each should have filled a 2 MiB budget");
            // Past the limit only by what over-share queues held until their next message trimmed them: one message each.
            Assert.True(budget.PeakUsed <= Budget + (20 * 17_000), $"peak {budget.PeakUsed} bytes against a budget of {Budget}");
            // 100 a second for 5 s is 500 at most. The feed's pacer makes up no missed turn, so on a busy machine (twenty
            // stalled senders here, other test classes alongside) a fast client gets fewer: one full run counted 273. The bound
            // says it kept being served, and no gap says it lost nothing.
            Assert.All(results, r => Assert.True(r.Read >= 150 && r.Gaps == 0, $"a fast client read {r.Read} messages with {r.Gaps} gaps"));
            WebSocketEndpointStatistics feed = server.App.Services.GetRequiredService<WebSocketSessions>().GetStatistics().Endpoints["feed"];
            Assert.True(feed.Dropped > 0, "the stalled clients' queues should have been trimmed");
        }
        finally
        {
            foreach (ClientWebSocket socket in stalled)
            {
                socket.Abort();
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task ForAStalledSubscriber_TheFeedMakesATenthOfItsMessages_UntilItCatchesUp()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:WebSockets:SlowClientGracePeriod=00:01:00");
        using ClientWebSocket stalled = await TestClients.ConnectNeverReadingAsync(server.WebSocketUrl("/ws/feed?queue=10&size=16384&rate=1000"));
        var sessions = server.App.Services.GetRequiredService<WebSocketSessions>();

        await Task.Delay(TimeSpan.FromSeconds(4));
        WebSocketEndpointStatistics feed = sessions.GetStatistics().Endpoints["feed"];
        stalled.Abort();

        // At 1000 a second, 4 s would make 4000 messages; once the socket's buffers and the queue are full, only 100 a second are made.
        Assert.True(feed.Enqueued < 2000, $"the feed made {feed.Enqueued} messages for a subscriber that read none");
        Assert.True(feed.Enqueued > 100, $"the feed made only {feed.Enqueued} messages: it should keep the newest fresh");
    }

    [Theory]
    [InlineData(null, 0, 48)]
    [InlineData("0", 64, int.MaxValue)]
    public async Task AClientThatStopsReading_IsFoundAfterTheBoundedSocketSendBuffer_NotTheMegabytesLinuxWouldGrowItTo(
        string? sendBufferBytes, int fewestDelivered, int mostDelivered)
    {
        // Delivered counts the 16 KiB messages handed to the socket before its send blocked: what the kernel holds for a
        // client that reads nothing (its send buffer, the client's receive buffer) and Kestrel's 64 KiB response buffer.
        // At the default 64 KiB (doubled by Linux) that is about twenty; left to the operating system, Linux grows the
        // send buffer towards 4 MiB (net.ipv4.tcp_wmem), well over a hundred.
        string[] settings = sendBufferBytes is null ? [] : [$"--Backpressure:WebSockets:SocketSendBufferBytes={sendBufferBytes}"];
        await using var server = await RunningServer.StartAsync([.. settings, "--Backpressure:WebSockets:SlowClientGracePeriod=00:01:00"]);
        using ClientWebSocket stalled = await TestClients.ConnectNeverReadingAsync(server.WebSocketUrl("/ws/feed?queue=10&size=16384&rate=1000"));
        var sessions = server.App.Services.GetRequiredService<WebSocketSessions>();

        WebSocketConnectionSnapshot? blocked = await FirstOfAsync(() => sessions.GetStatistics().LongestBlocked, b => b.SendBlockedMilliseconds > 1000);
        long delivered = sessions.GetStatistics().Endpoints["feed"].Delivered;
        stalled.Abort();

        Assert.NotNull(blocked);
        Assert.InRange(delivered, fewestDelivered, mostDelivered);
    }

    [Fact]
    public async Task AStalledWebSocketClient_ShowsInStatsWhileItsSendIsBlocked()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:WebSockets:SlowClientGracePeriod=00:01:00");
        using ClientWebSocket stalled = await TestClients.ConnectNeverReadingAsync(server.WebSocketUrl("/ws/feed?queue=10&size=16384&rate=1000"));
        var sessions = server.App.Services.GetRequiredService<WebSocketSessions>();

        WebSocketConnectionSnapshot? blocked = await FirstOfAsync(() => sessions.GetStatistics().LongestBlocked, b => b.SendBlockedMilliseconds > 1000);

        Assert.NotNull(blocked);
        Assert.True(blocked.SendBlockedMilliseconds > 1000, $"the blocked send showed {blocked.SendBlockedMilliseconds} ms");
        Assert.True(sessions.GetStatistics().Endpoints["feed"].LongestSendBlockedMilliseconds > 1000);
        stalled.Abort();
    }

    [Fact]
    public async Task AStalledGrpcReader_ShowsInStatsWhileItsWriteIsBlocked()
    {
        await using var server = await RunningServer.StartAsync();
        using GrpcChannel channel = SmallWindowChannel(server);
        using var call = new Flow.FlowClient(channel).Subscribe(new SubscribeRequest { PayloadBytes = 16 * 1024 });
        var streams = server.App.Services.GetRequiredService<GrpcStreams>();

        GrpcStreamStatistics? stalled = await FirstOfAsync(() => streams.GetStatistics().LongestWaiting, s => s.SendBlockedMilliseconds > 1500);

        // Before, a wait counted only once its write completed: a reader stalled for two seconds showed a few milliseconds.
        Assert.NotNull(stalled);
        Assert.True(stalled.SendBlockedMilliseconds > 1500, $"the blocked write showed {stalled.SendBlockedMilliseconds} ms");
        Assert.True(stalled.SendWaitMilliseconds >= stalled.SendBlockedMilliseconds);
    }

    [Fact]
    public async Task WhenTheBudgetIsFull_TheGrpcCallWaitingLongestForItsReaderIsShed_AndAFastOneIsServed()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:MemoryBudget:QueueBytes=1000000");
        using GrpcChannel stalledChannel = SmallWindowChannel(server);
        using var stalled = new Flow.FlowClient(stalledChannel).Subscribe(new SubscribeRequest { PayloadBytes = 300_000 });
        var streams = server.App.Services.GetRequiredService<GrpcStreams>();
        for (int i = 0; i < 100 && !streams.Live().Any(s => s.SendBlockedMilliseconds > 200); i++)
        {
            await Task.Delay(100);
        }

        // 300 KB payload + 300 KB in flight held by the stalled call; the fast one needs as much again, and more than is left.
        using GrpcChannel fastChannel = GrpcChannel.ForAddress(server.GrpcAddress);
        using var fast = new Flow.FlowClient(fastChannel).Subscribe(new SubscribeRequest { PayloadBytes = 300_000, Duration = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) });
        long read = 0;
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await fast.ResponseStream.MoveNext(patience.Token))
        {
            read++;
        }

        RpcException shed = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await stalled.ResponseStream.MoveNext(patience.Token))
            {
            }
        });
        Assert.Equal(StatusCode.ResourceExhausted, shed.StatusCode);
        // Reset with ENHANCE_YOUR_CALM mid-message: the client reads RESOURCE_EXHAUSTED from the reset, not from a status.
        Assert.Contains("ENHANCE_YOUR_CALM", shed.Status.Detail, StringComparison.Ordinal);
        Assert.True(read > 0);
        Assert.Equal(1, streams.GetStatistics().Methods["/backpressure.v1.Flow/Subscribe"].Shed);
    }

    // The first of a list read every 100 ms (for at most 10 s) once it satisfies done; the last read's first otherwise.
    private static async Task<T?> FirstOfAsync<T>(Func<IReadOnlyList<T>> read, Func<T, bool> done)
        where T : class
    {
        T? first = null;
        for (int i = 0; i < 100 && (first is null || !done(first)); i++)
        {
            await Task.Delay(100);
            IReadOnlyList<T> list = read();
            first = list.Count > 0 ? list[0] : null;
        }

        return first;
    }

    // A reader that opens a 64 KiB window and never reads.
    private static GrpcChannel SmallWindowChannel(RunningServer server) => GrpcChannel.ForAddress(server.GrpcAddress, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { InitialHttp2StreamWindowSize = 65_535 },
        DisposeHttpClient = true,
    });

    private static async Task<(long Read, long Gaps)> ReadFeedAsync(Uri url, TimeSpan duration)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(url, CancellationToken.None);
        var buffer = new byte[64 * 1024];
        long read = 0;
        long gaps = 0;
        long last = 0;
        using var stop = new CancellationTokenSource(duration);
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.AsMemory(), stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                long seq = ReadSeq(buffer.AsSpan(0, result.Count));
                gaps += seq > last + 1 ? 1 : 0;
                last = seq;
                read++;
            }
        }
        catch (Exception e) when (e is OperationCanceledException || (e is WebSocketException && stop.IsCancellationRequested))
        {
            // The reading time is up: cancelling a receive aborts the socket, which the receive may report either way.
        }

        return (read, gaps);
    }

    // {"seq":N,...
    private static long ReadSeq(ReadOnlySpan<byte> message)
    {
        long seq = 0;
        for (int i = "{\"seq\":".Length; i < message.Length && message[i] is >= (byte)'0' and <= (byte)'9'; i++)
        {
            seq = (seq * 10) + (message[i] - '0');
        }

        return seq;
    }
}
