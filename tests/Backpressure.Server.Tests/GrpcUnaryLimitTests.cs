using Backpressure.Grpc;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Backpressure.Server.Tests;

/// <summary><c>AddGrpc().AddBackpressure(...)</c> in front of a unary method on a real Kestrel: a call's hold time is a fair estimate of when a permit frees.</summary>
public sealed class GrpcUnaryLimitTests
{
    [Fact]
    public async Task AUnaryCallOverTheMethodLimit_IsRefusedWithAPushback()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc().AddBackpressure(o => o.MaxConcurrentCallsPerMethod = 1);
        builder.Services.AddSingleton<GrpcClientBackpressureTests.EchoService>();
        await using WebApplication server = builder.Build();
        server.MapGrpcService<GrpcClientBackpressureTests.EchoService>();
        await server.StartAsync();
        var echo = server.Services.GetRequiredService<GrpcClientBackpressureTests.EchoService>();
        using var release = new ManualResetEventSlim();
        echo.Answer = calls => calls == 1 && release.Wait(TimeSpan.FromSeconds(30)) ? "held" : "ok";
        using var channel = GrpcChannel.ForAddress(server.Urls.First());
        CallInvoker invoker = channel.CreateCallInvoker();

        using AsyncUnaryCall<string> holding = invoker.AsyncUnaryCall(GrpcClientBackpressureTests.Say, null, default, "first");
        for (int i = 0; i < 300 && echo.Calls == 0; i++)
        {
            await Task.Delay(10);
        }

        RpcException refusal = await Assert.ThrowsAsync<RpcException>(
            () => invoker.AsyncUnaryCall(GrpcClientBackpressureTests.Say, null, default, "second").ResponseAsync);
        release.Set();

        Assert.Equal("held", await holding.ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, refusal.StatusCode);
        Assert.True(long.TryParse(refusal.Trailers.GetValue(BackpressureInterceptor.RetryPushbackTrailer), out long pushback) && pushback >= 0,
            $"a unary refusal should carry {BackpressureInterceptor.RetryPushbackTrailer}");
        await server.StopAsync();
    }
}
