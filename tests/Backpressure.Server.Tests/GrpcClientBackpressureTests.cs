using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Backpressure.Grpc;
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
/// method answers as each test tells it: throttling, retries within the budget, and <c>grpc-retry-pushback-ms</c>.
/// </summary>
public sealed class GrpcClientBackpressureTests : IAsyncLifetime
{
    internal static readonly Marshaller<string> Text = Marshallers.Create(s => Encoding.UTF8.GetBytes(s), b => Encoding.UTF8.GetString(b));
    internal static readonly Method<string, string> Say = new(MethodType.Unary, "test.Echo", "Say", Text, Text);
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

    [Fact]
    public async Task ToldToPushBack_NewCallsFailFastUntilThePushbackEnds_AndNoneReachesTheServer()
    {
        Echo.Answer = calls => calls == 1
            ? throw new RpcException(new Status(StatusCode.ResourceExhausted, "busy"), new Metadata { { BackpressureInterceptor.RetryPushbackTrailer, "1500" } })
            : "ok";
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

    [Fact]
    public async Task AServerThatKeepsRefusing_GetsOnlyAFractionOfTheCalls()
    {
        Echo.Answer = _ => throw new RpcException(new Status(StatusCode.Unavailable, "down"));
        using var channel = GrpcChannel.ForAddress(_server.Urls.First());
        CallInvoker invoker = Invoker(channel, new GrpcClientBackpressureOptions { MaxRetries = 0 });

        int throttled = 0;
        for (int i = 0; i < 200; i++)
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(Say, null, default, "x").ResponseAsync);
            if (e.Trailers.GetValue(ClientBackpressureInterceptor.LocalRefusalTrailer) == "throttled")
            {
                throttled++;
            }
        }

        Assert.True(Echo.Calls < 50, $"the server got {Echo.Calls} of 200 calls");
        Assert.Equal(200, Echo.Calls + throttled);
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
        public static void BindService(ServiceBinderBase binder, EchoBase? service) =>
            binder.AddMethod(GrpcClientBackpressureTests.Say, service is null ? null! : new UnaryServerMethod<string, string>(service.Say));

        public abstract Task<string> Say(string request, ServerCallContext context);
    }

    /// <summary>Answers as the test says; counts its calls.</summary>
    public sealed class EchoService : EchoBase
    {
        private int _calls;

        public Func<int, string> Answer { get; set; } = _ => "ok";

        public int Calls => Volatile.Read(ref _calls);

        public override Task<string> Say(string request, ServerCallContext context) => Task.FromResult(Answer(Interlocked.Increment(ref _calls)));
    }
}
