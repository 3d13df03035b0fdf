using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Backpressure.Grpc;
using Backpressure.Testing;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Backpressure.Server.Tests;

/// <summary>
/// <see cref="ClientBackpressureInterceptor"/> on a real <see cref="GrpcChannel"/> against a real Kestrel whose one unary
/// methods answer as each test tells it: throttling, retries within the budget, and <c>grpc-retry-pushback-ms</c>, for
/// unary calls and streams.
/// </summary>
public sealed class GrpcClientBackpressureTests : IAsyncLifetime
{
    internal static readonly Marshaller<string> Text = Marshallers.Create(s => Encoding.UTF8.GetBytes(s), b => Encoding.UTF8.GetString(b));
    internal static readonly Method<string, string> Say = new(MethodType.Unary, "test.Echo", "Say", Text, Text);
    internal static readonly Method<string, string> Tell = new(MethodType.ServerStreaming, "test.Echo", "Tell", Text, Text);
    internal static readonly Method<string, string> Chat = new(MethodType.DuplexStreaming, "test.Echo", "Chat", Text, Text);
    private WebApplication _server = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<EchoService>();
        _server = builder.Build();
        _server.MapGrpcService<EchoService>();
        await _server.StartAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private EchoService Echo => _server.Services.GetRequiredService<EchoService>();

    private static CallInvoker Invoker(GrpcChannel channel, GrpcClientBackpressureOptions options) => channel.Intercept(new ClientBackpressureInterceptor(options));

    private void RefuseTheFirstCallWithAPushbackOfOneAndAHalfSeconds() => Echo.Answer = calls => calls == 1
        ? throw new RpcException(new Status(StatusCode.ResourceExhausted, "busy"), new Metadata { { BackpressureInterceptor.RetryPushbackTrailer, "1500" } })
        : "ok";

    [Fact]
    public async Task ToldToPushBack_NewCallsFailFastUntilThePushbackEnds_AndNoneReachesTheServer()
    {
        RefuseTheFirstCallWithAPushbackOfOneAndAHalfSeconds();
        using var channel = GrpcChannel.ForAddress(_server.Urls.First());
        CallInvoker invoker = Invoker(channel, new GrpcClientBackpressureOptions { MaxRetries = 0, Throttle = false });

        var first = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(Say, null, default, "one").ResponseAsync);
        var held = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(Say, null, default, "two").ResponseAsync);
        await Task.Delay(1600);
        string later = await invoker.AsyncUnaryCall(Say, null, default, "three").ResponseAsync;

        Assert.Equal(StatusCode.ResourceExhausted, first.StatusCode);
        Assert.Equal(StatusCode.ResourceExhausted, held.StatusCode);
        Assert.Equal("pushed-back", held.Trailers.GetValue(ClientBackpressureInterceptor.LocalRefusalTrailer));
        Assert.Equal("ok", later);
        Assert.Equal(2, Echo.Calls);
    }

    [Theory]
    [InlineData(MethodType.Unary)]
    [InlineData(MethodType.ServerStreaming)]
    public async Task AServerThatKeepsRefusing_GetsOnlyAFractionOfTheCalls(MethodType kind)
    {
        Echo.Answer = _ => throw new RpcException(new Status(StatusCode.Unavailable, "down"));
        using var channel = GrpcChannel.ForAddress(_server.Urls.First());
        CallInvoker invoker = Invoker(channel, new GrpcClientBackpressureOptions { MaxRetries = 0 });

        int throttled = 0;
        for (int i = 0; i < 200; i++)
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => CallOnceAsync(invoker, kind));
            if (e.Trailers.GetValue(ClientBackpressureInterceptor.LocalRefusalTrailer) == "throttled")
            {
                throttled++;
            }
        }

        Assert.True(Echo.Calls < 50, $"the server got {Echo.Calls} of 200 calls");
        Assert.Equal(200, Echo.Calls + throttled);
    }

    [Fact]
    public async Task AThrottledCall_IsToldToComeBackAfterTheServersLastPushback_WhenThatIsUnderASecond()
    {
        using var channel = GrpcChannel.ForAddress(_server.Urls.First());

        // A server that keeps refusing with no pushback, then (to a client with fresh state) one that says 40 ms: after
        // ten calls the throttle refuses most calls itself, and the first calls always reach the server. Calls to the
        // second are 50 ms apart, so that each meets the throttle, not the pushback (which fails calls fast while it lasts).
        Echo.Answer = _ => throw new RpcException(new Status(StatusCode.Unavailable, "down"));
        List<string?> unnamed = await ThrottledPushbacks(Invoker(channel, new GrpcClientBackpressureOptions { MaxRetries = 0 }), calls: 40, TimeSpan.Zero);
        Echo.Answer = _ => throw new RpcException(
            new Status(StatusCode.Unavailable, "busy"), new Metadata { { BackpressureInterceptor.RetryPushbackTrailer, "40" } });
        List<string?> named = await ThrottledPushbacks(Invoker(channel, new GrpcClientBackpressureOptions { MaxRetries = 0 }), calls: 40, TimeSpan.FromMilliseconds(50));

        // Told no pushback: a second. Told 40 ms: 40 ms.
        Assert.NotEmpty(unnamed);
        Assert.All(unnamed, pushback => Assert.Equal("1000", pushback));
        Assert.NotEmpty(named);
        Assert.All(named, pushback => Assert.Equal("40", pushback));
    }

    private static async Task<List<string?>> ThrottledPushbacks(CallInvoker invoker, int calls, TimeSpan gap)
    {
        var pushbacks = new List<string?>();
        for (int i = 0; i < calls; i++)
        {
            await Task.Delay(gap);
            var e = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(Say, null, default, "x").ResponseAsync);
            if (e.Trailers.GetValue(ClientBackpressureInterceptor.LocalRefusalTrailer) == "throttled")
            {
                pushbacks.Add(e.Trailers.GetValue(BackpressureInterceptor.RetryPushbackTrailer));
            }
        }

        return pushbacks;
    }

    [Fact]
    public async Task AUnaryAttemptTheThrottleRefuses_IsRetriedAsARefusalWouldBe_AndTheCallGetsThroughOnceTheThrottleLetsIt()
    {
        bool refusing = true;
        Echo.Answer = _ => Volatile.Read(ref refusing) ? throw new RpcException(new Status(StatusCode.Unavailable, "down")) : "ok";

        var throttle = new ScriptedThrottle();
        var interceptor = new ClientBackpressureInterceptor(
            ScriptedThrottle.WithOneQuickRetry(new GrpcClientBackpressureOptions()), timeProvider: null, throttleDraws: throttle.Draws);
        using var channel = GrpcChannel.ForAddress(_server.Urls.First());
        CallInvoker invoker = channel.Intercept(interceptor);
        for (int i = 0; i < 20; i++)
        {
            await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(Say, null, default, "x").ResponseAsync);
        }

        Volatile.Write(ref refusing, false);
        int before = Echo.Calls;
        throttle.RefuseNext();

        string answer = await invoker.AsyncUnaryCall(Say, null, default, "y").ResponseAsync;

        Assert.Equal("ok", answer);
        Assert.Equal(before + 1, Echo.Calls);
    }

    [Fact]
    public async Task ARefusedCall_IsRetriedWithinTheBudget_AndCanSucceed()
    {
        Echo.Answer = calls => calls <= 2 ? throw new RpcException(new Status(StatusCode.Unavailable, "down")) : "ok";
        using var channel = GrpcChannel.ForAddress(_server.Urls.First());
        CallInvoker invoker = Invoker(channel, new GrpcClientBackpressureOptions { Throttle = false, RetryDelay = TimeSpan.FromMilliseconds(1) });

        AsyncUnaryCall<string> call = invoker.AsyncUnaryCall(Say, null, default, "x");
        string answer = await call.ResponseAsync;

        Assert.Equal("ok", answer);
        Assert.Equal(3, Echo.Calls);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task AStreamToldToPushBack_HoldsBackTheStreamsAndCallsAfterIt_AndNoneReachesTheServer()
    {
        RefuseTheFirstCallWithAPushbackOfOneAndAHalfSeconds();
        using var channel = GrpcChannel.ForAddress(_server.Urls.First());
        CallInvoker invoker = Invoker(channel, new GrpcClientBackpressureOptions { MaxRetries = 0, Throttle = false });

        using AsyncServerStreamingCall<string> first = invoker.AsyncServerStreamingCall(Tell, null, default, "one");
        var refused = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(first.ResponseStream));
        using AsyncServerStreamingCall<string> heldStream = invoker.AsyncServerStreamingCall(Tell, null, default, "two");
        var held = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(heldStream.ResponseStream));
        using AsyncDuplexStreamingCall<string, string> heldChat = invoker.AsyncDuplexStreamingCall(Chat, null, default);
        var heldWrite = await Assert.ThrowsAsync<RpcException>(() => heldChat.RequestStream.WriteAsync("hello"));
        var heldUnary = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(Say, null, default, "three").ResponseAsync);
        await Task.Delay(1600);
        using AsyncServerStreamingCall<string> later = invoker.AsyncServerStreamingCall(Tell, null, default, "four");
        List<string> answers = await ReadAllAsync(later.ResponseStream);

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Null(refused.Trailers.GetValue(ClientBackpressureInterceptor.LocalRefusalTrailer));
        Assert.All([held, heldWrite, heldUnary], e => Assert.Equal("pushed-back", e.Trailers.GetValue(ClientBackpressureInterceptor.LocalRefusalTrailer)));
        Assert.Equal(StatusCode.ResourceExhausted, heldChat.GetStatus().StatusCode);
        Assert.Equal(["ok", "ok", "ok"], answers);
        Assert.Equal(2, Echo.Calls);
    }

    [Fact]
    public async Task StreamsTheServerAnswers_EvenWithAnErrorOfItsOwn_AreAccepts_AndAreNeverThrottled()
    {
        // Three in four answered with an error: counted as refusals, that would throttle about half of the streams.
        Echo.Answer = calls => calls % 4 != 0 ? throw new RpcException(new Status(StatusCode.NotFound, "no such thing")) : "ok";
        using var channel = GrpcChannel.ForAddress(_server.Urls.First());
        CallInvoker invoker = Invoker(channel, new GrpcClientBackpressureOptions { MaxRetries = 0 });

        for (int i = 0; i < 100; i++)
        {
            try
            {
                await CallOnceAsync(invoker, MethodType.ServerStreaming);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
            }
        }

        Assert.Equal(100, Echo.Calls);
    }

    private static async Task CallOnceAsync(CallInvoker invoker, MethodType kind)
    {
        if (kind == MethodType.Unary)
        {
            await invoker.AsyncUnaryCall(Say, null, default, "x").ResponseAsync;
            return;
        }

        using AsyncServerStreamingCall<string> call = invoker.AsyncServerStreamingCall(Tell, null, default, "x");
        await ReadAllAsync(call.ResponseStream);
    }

    private static async Task<List<string>> ReadAllAsync(IAsyncStreamReader<string> stream)
    {
        var all = new List<string>();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await stream.MoveNext(patience.Token))
        {
            all.Add(stream.Current);
        }

        return all;
    }

    [Fact]
    public void AnInvalidOption_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => new ClientBackpressureInterceptor(new GrpcClientBackpressureOptions { MaxRetries = 11 }));

        Assert.Equal(nameof(GrpcClientBackpressureOptions.MaxRetries), e.ParamName);
    }

    /// <summary>
    /// One unary method bound by hand, as generated code binds one: Grpc.AspNetCore finds the implementation by name, as
    /// an override of the bound base's virtual method.
    /// </summary>
    [BindServiceMethod(typeof(EchoBase), nameof(BindService))]
    public abstract class EchoBase
    {
        public static void BindService(ServiceBinderBase binder, EchoBase? service)
        {
            binder.AddMethod(GrpcClientBackpressureTests.Say, service is null ? null! : new UnaryServerMethod<string, string>(service.Say));
            binder.AddMethod(GrpcClientBackpressureTests.Tell, service is null ? null! : new ServerStreamingServerMethod<string, string>(service.Tell));
            binder.AddMethod(GrpcClientBackpressureTests.Chat, service is null ? null! : new DuplexStreamingServerMethod<string, string>(service.Chat));
        }

        public abstract Task<string> Say(string request, ServerCallContext context);

        public abstract Task Tell(string request, IServerStreamWriter<string> responses, ServerCallContext context);

        public abstract Task Chat(IAsyncStreamReader<string> requests, IServerStreamWriter<string> responses, ServerCallContext context);
    }

    /// <summary>Answers as the test says; counts its calls.</summary>
    public sealed class EchoService : EchoBase
    {
        private int _calls;

        public Func<int, string> Answer { get; set; } = _ => "ok";

        public int Calls => Volatile.Read(ref _calls);

        public override Task<string> Say(string request, ServerCallContext context) => Task.FromResult(Answer(Interlocked.Increment(ref _calls)));

        // Three messages of the answer, or the answer's exception before any.
        public override async Task Tell(string request, IServerStreamWriter<string> responses, ServerCallContext context)
        {
            string answer = Answer(Interlocked.Increment(ref _calls));
            for (int i = 0; i < 3; i++)
            {
                await responses.WriteAsync(answer);
            }
        }

        // The answer to each request, or the answer's exception before any.
        public override async Task Chat(IAsyncStreamReader<string> requests, IServerStreamWriter<string> responses, ServerCallContext context)
        {
            string answer = Answer(Interlocked.Increment(ref _calls));
            while (await requests.MoveNext())
            {
                await responses.WriteAsync(answer);
            }
        }
    }
}
