using System.Threading.RateLimiting;
using Backpressure.Grpc;
using Backpressure.Server.Grpc;
using Backpressure.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Backpressure.Server.Tests;

/// <summary>
/// <c>AddGrpc().AddWaitingRoom(...)</c> in front of the seed's Flow service, one permit behind it, on a real Kestrel with
/// real <see cref="GrpcChannel"/>s: criticality from metadata, the more critical first, deadlines, and what a refusal says.
/// </summary>
public sealed class GrpcWaitingRoomTests
{
    // One permit, its hold time estimated at `serviceTime` (500 ms when null) until a call returns it.
    private static async Task<WebApplication> StartAsync(Action<GrpcWaitingRoomOptions> configure, TimeSpan? serviceTime = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<GrpcStreams>();
        builder.Services.AddOptions<GrpcEndpointOptions>();
        builder.Services.AddGrpc()
            .AddBackpressure(o => o.MaxConcurrentCallsPerMethod = 100)
            .AddWaitingRoom(
                _ => new PressureGauge(new PressureGaugeOptions { PermitLimit = 1, InitialHoldTimeEstimate = serviceTime ?? TimeSpan.FromMilliseconds(500) }),
                o =>
                {
                    o.CriticalityKey = "x-criticality";
                    configure(o);
                });
        var app = builder.Build();
        app.MapGrpcService<FlowService>();
        await app.StartAsync();
        return app;
    }

    private static GrpcChannel Channel(WebApplication app) => GrpcChannel.ForAddress(app.Urls.First());

    private static Metadata As(string criticality) => new() { { "x-criticality", criticality } };

    private static async Task<Item> EchoAsync(AsyncDuplexStreamingCall<Item, Item> call, string text)
    {
        await call.RequestStream.WriteAsync(new Item { Payload = ByteString.CopyFromUtf8(text) });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None), "the call ended without an echo");
        return call.ResponseStream.Current;
    }

    [Fact]
    public async Task WhenTheCallHoldingThePermitEnds_AWaitingCriticalCallGoesBeforeABatchCallThatCameFirst()
    {
        await using WebApplication app = await StartAsync(_ => { });
        using GrpcChannel channel = Channel(app);
        var client = new Flow.FlowClient(channel);
        WaitingRoomInterceptor interceptor = app.Services.GetRequiredService<WaitingRoomInterceptor>();

        using var holder = client.Chat(As("normal"));
        await EchoAsync(holder, "holder");
        using var batch = client.Chat(As("batch"));
        await batch.RequestStream.WriteAsync(new Item { Payload = ByteString.CopyFromUtf8("batch") });
        await WaitUntil(() => interceptor.Room.QueuedCount == 1);
        using var critical = client.Chat(As("critical"));
        await critical.RequestStream.WriteAsync(new Item { Payload = ByteString.CopyFromUtf8("critical") });
        await WaitUntil(() => interceptor.Room.QueuedCount == 2);

        await holder.RequestStream.CompleteAsync();
        Assert.False(await holder.ResponseStream.MoveNext(CancellationToken.None));
        Assert.True(await critical.ResponseStream.MoveNext(CancellationToken.None));
        Task<bool> batchEcho = batch.ResponseStream.MoveNext(CancellationToken.None);
        await Task.Delay(200);
        Assert.False(batchEcho.IsCompleted, "the batch call ran while the critical one held the only permit");
        await critical.RequestStream.CompleteAsync();
        Assert.True(await batchEcho);
        await batch.RequestStream.CompleteAsync();
        await app.StopAsync();
    }

    [Fact]
    public async Task ARefusedStream_IsResourceExhausted_SayingWhichCriticalityWasShed_WithoutAPushbackEstimate()
    {
        await using WebApplication app = await StartAsync(o => o.Room.QueueLimit = 0);
        using GrpcChannel channel = Channel(app);
        var client = new Flow.FlowClient(channel);
        using var holder = client.Chat(As("normal"));
        await EchoAsync(holder, "holder");

        using var refused = client.Chat(As("sheddable"));
        var e = await Assert.ThrowsAsync<RpcException>(() => refused.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal("sheddable; reason=limit_full", e.Trailers.GetValue("backpressure-shed"));
        Assert.Null(e.Trailers.Get(BackpressureInterceptor.RetryPushbackTrailer));
        await holder.RequestStream.CompleteAsync();
        await app.StopAsync();
    }

    [Fact]
    public async Task ACallWhoseDeadlineIsShorterThanTheServiceTime_IsShedAtOnce()
    {
        // A service time of 10 s and a deadline of 2 s: the deadline cannot be met, and the refusal has ample
        // time to arrive before the client gives up on its own (a 300 ms deadline lost that race on a busy machine).
        await using WebApplication app = await StartAsync(_ => { }, serviceTime: TimeSpan.FromSeconds(10));
        using GrpcChannel channel = Channel(app);
        var client = new Flow.FlowClient(channel);
        using var holder = client.Chat(As("normal"));
        await EchoAsync(holder, "holder");

        using var hopeless = client.Chat(As("critical"), deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(2));
        var e = await Assert.ThrowsAsync<RpcException>(() => hopeless.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal("critical; reason=deadline", e.Trailers.GetValue("backpressure-shed"));
        await holder.RequestStream.CompleteAsync();
        await app.StopAsync();
    }

    [Fact]
    public async Task AnUnknownCriticality_IsInvalidArgumentNamingTheKey_AndTakesNoPermit()
    {
        await using WebApplication app = await StartAsync(_ => { });
        using GrpcChannel channel = Channel(app);
        var client = new Flow.FlowClient(channel);

        using var bad = client.Chat(As("urgent"));
        var e = await Assert.ThrowsAsync<RpcException>(() => bad.ResponseStream.MoveNext(CancellationToken.None));
        using var next = client.Chat(As("batch"));
        Item echo = await EchoAsync(next, "next");

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("x-criticality must be critical, normal, sheddable or batch (was 'urgent')", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("next", echo.Payload.ToStringUtf8());
        await next.RequestStream.CompleteAsync();
        await app.StopAsync();
    }

    [Fact]
    public void AnInvalidOption_IsRefusedNamingIt()
    {
        var options = new GrpcWaitingRoomOptions { CriticalityKey = "X-Criticality" };

        var e = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Equal(nameof(GrpcWaitingRoomOptions.CriticalityKey), e.ParamName);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "the condition did not hold within 30 s");
    }
}
