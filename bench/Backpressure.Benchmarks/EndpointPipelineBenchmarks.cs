using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using Backpressure.AspNetCore;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Backpressure.Benchmarks;

/// <summary>
/// One GET through ASP.NET Core's routing, the rate-limiting middleware and a minimal-API endpoint
/// answering <c>ok</c>, in process: bare, behind our gauge (<c>RequireBackpressure</c>) and behind
/// the base library's middleware with a <see cref="ConcurrencyLimiter"/> of the same limit, the
/// same three endpoints as <c>/overhead/*</c>. Over HTTP, machine noise between wrk rounds is wider
/// than the difference the overhead target asks about; here the extra nanoseconds per request are
/// measured directly, with and without a listener on the metrics (the server always has one).
/// </summary>
[MemoryDiagnoser]
public class EndpointPipelineBenchmarks
{
    private WebApplication _host = null!;
    private RequestDelegate _pipeline = null!;
    private MeterListener? _listener;

    [Params(false, true)]
    public bool MetricsListened { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // The host supplies what routing needs (diagnostics, options, logging); it is never started.
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddOverheadGuards();
        _host = builder.Build();

        var app = new ApplicationBuilder(_host.Services);
        app.UseRouting();
        app.UseRateLimiter();
        app.UseEndpoints(endpoints =>
        {
            endpoints.MapGet("/bare", () => "ok");
            endpoints.MapGet("/gauge", () => "ok").RequireBackpressure(OverheadGuards.Gauge);
            endpoints.MapGet("/rate-limiter", () => "ok").RequireRateLimiting(OverheadGuards.Middleware);
        });
        _pipeline = app.Build();

        if (MetricsListened)
        {
            _listener = DiscardingMeterListener.Start();
        }

        // A benchmark of a 404 would measure nothing; each endpoint must answer before it is timed.
        foreach (string path in (string[])["/bare", "/gauge", "/rate-limiter"])
        {
            DefaultHttpContext context = Request(path);
            _pipeline(context).GetAwaiter().GetResult();
            if (context.Response.StatusCode != StatusCodes.Status200OK)
            {
                throw new InvalidOperationException($"{path} answered {context.Response.StatusCode}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener?.Dispose();
        _host.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public Task Bare() => _pipeline(Request("/bare"));

    [Benchmark]
    public Task Gauge() => _pipeline(Request("/gauge"));

    [Benchmark]
    public Task Middleware() => _pipeline(Request("/rate-limiter"));

    private DefaultHttpContext Request(string path)
    {
        var context = new DefaultHttpContext { RequestServices = _host.Services };
        context.Request.Method = HttpMethods.Get;
        context.Request.Path = path;
        context.Response.Body = Stream.Null;
        return context;
    }
}
