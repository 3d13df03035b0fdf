using Backpressure.Grpc;
using Backpressure.Server.Grpc;
using Backpressure.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.Server.Tests;

/// <summary>The gRPC service against real <see cref="GrpcChannel"/>s on a real Kestrel, over cleartext HTTP/2.</summary>
[Collection(HeapMeasuringTests.Name)]
public sealed class GrpcEndpointTests
{
    private const int Window = 65_535;
    private const int Payload = 16 * 1024;

    // Kestrel's default MaxResponseBufferSize: what a stream's writes may queue in Kestrel beyond the reader's window.
    private const int KestrelResponseBuffer = 64 * 1024;

    [Fact]
    public async Task ASlowSubscriberHoldsTheServerToItsWindow_WhileAFastOneOnAnotherConnectionRunsFree()
    {
        await using var server = await RunningServer.StartAsync();
        using var slowChannel = Channel(server);
        using var fastChannel = Channel(server);
        var request = new SubscribeRequest { PayloadBytes = Payload };
        using var slow = new Flow.FlowClient(slowChannel).Subscribe(request);
        using var fast = new Flow.FlowClient(fastChannel).Subscribe(request);
        Task<long> fastReading = Task.Run(() => ReadAllAsync(fast, TimeSpan.FromSeconds(4)));
        long heapBefore = ManagedHeap.AfterCollection();

        long read = 0;
        long worstInFlightBytes = 0;
        for (int i = 0; i < 40; i++)
        {
            Assert.True(await slow.ResponseStream.MoveNext(CancellationToken.None));
            read++;
            await Task.Delay(50);
            long sent = SlowestSubscribe(server).MessagesSent;
            worstInFlightBytes = Math.Max(worstInFlightBytes, (sent - read) * (Payload + GrpcEndpointOptions.MessageEnvelopeBytes));
        }

        long heapGrowth = ManagedHeap.AfterCollection() - heapBefore;
        long fastRead = await fastReading;

        // Written but unread: the reader's window, Kestrel's response buffer, and the message being read and the one being written.
        long bound = Window + KestrelResponseBuffer + (2 * (Payload + GrpcEndpointOptions.MessageEnvelopeBytes));
        Assert.InRange(worstInFlightBytes, 0, bound);
        Assert.True(SlowestSubscribe(server).SendWaitMilliseconds > 1000, "the server's writes should have waited most of the 2 s on the slow reader's window");
        Assert.True(fastRead > 50 * read, $"the fast subscriber read {fastRead} messages while the slow one read {read}");
        Assert.True(heapGrowth < 16 * 1024 * 1024, $"the managed heap grew by {heapGrowth / 1024} KiB");
    }

    [Fact]
    public async Task AFastUploader_IsPacedByTheServersWindow_ToTheServersReadingRate()
    {
        await using var server = await RunningServer.StartAsync(
            "--Backpressure:Grpc:ConsumeRate=50",
            $"--Backpressure:Grpc:InitialConnectionWindowSize={Window}",
            $"--Backpressure:Grpc:InitialStreamWindowSize={Window}");
        using var channel = Channel(server);
        var payload = ByteString.CopyFrom(new byte[Payload]);

        // Warm the server's and the client's upload path first: a cold process's first call (JIT of the interceptors and
        // the service) can take a good part of the 2 s measured, which is about pacing, not start-up.
        using (var warmUp = new Flow.FlowClient(channel).Upload())
        {
            await warmUp.RequestStream.WriteAsync(new Item { Seq = 1, Payload = payload });
            await warmUp.RequestStream.CompleteAsync();
            await warmUp.ResponseAsync;
        }

        using var call = new Flow.FlowClient(channel).Upload();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        long written = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(2))
        {
            await call.RequestStream.WriteAsync(new Item { Seq = written + 1, Payload = payload });
            written++;
        }

        long readByServer = server.App.Services.GetRequiredService<GrpcStreams>().Live().Single().MessagesReceived;
        await call.RequestStream.CompleteAsync();
        UploadSummary summary = await call.ResponseAsync;

        // Unpaced, the client writes thousands of 16 KiB messages in 2 s on loopback; paced, what the server has read plus a window.
        long slack = (Window / Payload) + 4;
        Assert.InRange(written, readByServer, readByServer + slack);

        // The server reads at most 50 a second (100 in 2 s, plus a little for the clock's edges). It may read fewer: its
        // pacer lets no missed turn be made up later, so on a busy machine (other test classes run alongside) each late turn
        // is lost; one clean-clone CI run counted 42. The lower bound says only that it kept reading.
        Assert.InRange(readByServer, 20, 2 * 50 + 10);
        Assert.Equal(written, summary.Received);
        Assert.Equal(0, summary.Gaps);
    }

    [Fact]
    public void AddBackpressure_CalledTwice_PutsTheInterceptorInFrontOfEveryCallOnce()
    {
        var services = new ServiceCollection();
        services.AddGrpc().AddBackpressure(o => o.MaxConcurrentCallsPerMethod = 5);
        services.AddGrpc().AddBackpressure(o => o.MaxConcurrentCallsPerMethod = 5);
        using ServiceProvider provider = services.BuildServiceProvider();

        var grpc = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::Grpc.AspNetCore.Server.GrpcServiceOptions>>().Value;

        Assert.Single(grpc.Interceptors, i => i.Type == typeof(BackpressureInterceptor));
    }

    [Fact]
    public async Task AStreamOverThePerMethodLimit_IsRefusedWithResourceExhaustedWithoutAPushbackEstimate_AndTheLimitFreesWhenACallEnds()
    {
        await using var server = await RunningServer.StartAsync(
            "--Backpressure:Grpc:MaxConcurrentCallsPerMethod=2", "--Backpressure:Grpc:MaxConcurrentCallsPerClient=2");
        using var channel = Channel(server);
        var client = new Flow.FlowClient(channel);
        var request = new SubscribeRequest { PayloadBytes = 16 };
        using var first = client.Subscribe(request);
        using var second = client.Subscribe(request);
        Assert.True(await first.ResponseStream.MoveNext(CancellationToken.None));
        Assert.True(await second.ResponseStream.MoveNext(CancellationToken.None));

        using var third = client.Subscribe(request);
        var refusal = await Assert.ThrowsAsync<RpcException>(() => third.ResponseStream.MoveNext(CancellationToken.None));
        first.Dispose();
        Assert.True(await WaitUntilAsync(() => server.App.Services.GetRequiredService<GrpcStreams>().Live().Count == 1));
        using var fourth = client.Subscribe(request);
        bool admittedAfterRelease = await fourth.ResponseStream.MoveNext(CancellationToken.None);

        Assert.Equal(StatusCode.ResourceExhausted, refusal.StatusCode);
        // How long the held streams last is their clients' choice: an estimate from hold times would be invented, so none is told.
        Assert.Null(refusal.Trailers.Get(BackpressureInterceptor.RetryPushbackTrailer));
        Assert.True(admittedAfterRelease);
        var stats = server.App.Services.GetRequiredService<GrpcStreams>().GetStatistics();
        Assert.Equal(1, stats.Methods["/backpressure.v1.Flow/Subscribe"].Refused);
    }

    [Fact]
    public async Task AMessageOverTheSizeLimit_IsRefusedWithResourceExhausted()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:Grpc:MaxMessageBytes=4096");
        using var channel = Channel(server);
        using var call = new Flow.FlowClient(channel).Upload();

        await call.RequestStream.WriteAsync(new Item { Seq = 1, Payload = ByteString.CopyFrom(new byte[8192]) });
        var refusal = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, refusal.StatusCode);
    }

    [Theory]
    [InlineData(-1, 0, "payload_bytes must be from 0")]
    [InlineData(16, -5, "rate must be from 0")]
    public async Task ASubscribeWithBadArguments_IsRefusedWithInvalidArgumentAndAReason(int payload, int rate, string reason)
    {
        await using var server = await RunningServer.StartAsync();
        using var channel = Channel(server);
        using var call = new Flow.FlowClient(channel).Subscribe(new SubscribeRequest { PayloadBytes = payload, Rate = rate });

        var refusal = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.InvalidArgument, refusal.StatusCode);
        Assert.Contains(reason, refusal.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_EchoesEveryMessageInOrder()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:Grpc:ConsumeRate=1000");
        using var channel = Channel(server);
        using var call = new Flow.FlowClient(channel).Chat();

        for (int i = 1; i <= 20; i++)
        {
            await call.RequestStream.WriteAsync(new Item { Seq = i, Payload = ByteString.CopyFromUtf8($"m{i}") });
        }

        await call.RequestStream.CompleteAsync();
        var echoes = new List<Item>();
        await foreach (Item echo in call.ResponseStream.ReadAllAsync())
        {
            echoes.Add(echo);
        }

        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"m{i}"), echoes.Select(e => e.Payload.ToStringUtf8()));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), echoes.Select(e => e.Seq));
    }

    [Theory]
    [InlineData("InitialStreamWindowSize=1000", "InitialStreamWindowSize")]
    [InlineData("InitialConnectionWindowSize=70000", "InitialStreamWindowSize")]
    [InlineData("MaxStreamsPerConnection=0", "MaxStreamsPerConnection")]
    [InlineData("MaxMessageBytes=10", "MaxMessageBytes")]
    [InlineData("Url=https://127.0.0.1:0", "Url")]
    public async Task AnInvalidGrpcOption_StopsStartUp_NamingTheOption(string setting, string named)
    {
        var failure = await Record.ExceptionAsync(() => RunningServer.StartAsync($"--Backpressure:Grpc:{setting}"));

        Assert.NotNull(failure);
        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
    }

    private static GrpcChannel Channel(RunningServer server) => GrpcChannel.ForAddress(server.GrpcAddress, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { InitialHttp2StreamWindowSize = Window },
        DisposeHttpClient = true,
    });

    private static GrpcStreamStatistics SlowestSubscribe(RunningServer server) => server.App.Services.GetRequiredService<GrpcStreams>().Live()
        .Where(s => s.Method.EndsWith("/Subscribe", StringComparison.Ordinal))
        .MinBy(s => s.MessagesSent)!;

    private static async Task<long> ReadAllAsync(AsyncServerStreamingCall<Item> call, TimeSpan duration)
    {
        using var stop = new CancellationTokenSource(duration);
        long read = 0;
        try
        {
            while (await call.ResponseStream.MoveNext(stop.Token))
            {
                read++;
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
        }

        return read;
    }

    private static async Task<bool> WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        return condition();
    }
}
