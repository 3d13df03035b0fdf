using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using Backpressure.AspNetCore;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Backpressure.Benchmarks;

/// <summary>
/// The guard alone: one admitted request through an endpoint's <see cref="RequestDelegate"/> with
/// nothing else around it, on one <see cref="DefaultHttpContext"/> reused for every call, so that
/// neither a context's allocation nor routing adds its noise to a difference of tens of
/// nanoseconds. <c>Bare</c> calls the endpoint's own delegate; <c>Gauge</c> the delegate that
/// <c>RequireBackpressure</c> builds around it; <c>Middleware</c> the base library's
/// <c>UseRateLimiter()</c> in front of it with the endpoint's <c>RequireRateLimiting</c> metadata and
/// a <see cref="ConcurrencyLimiter"/> of the same limit. Dividing a row's extra time by the time of
/// a whole bare HTTP request gives the share of throughput the guard costs.
/// </summary>
/// <remarks>
/// <see cref="Metrics"/> is who reads the <c>Backpressure</c> meter: nobody, a
/// <see cref="MeterListener"/> that discards every measurement (the cost of producing them), or
/// OpenTelemetry's SDK with the Prometheus exporter, as the server runs (the cost of aggregating
/// them too).
/// </remarks>
[MemoryDiagnoser]
public class RequestGuardBenchmarks
{
    private static readonly RequestDelegate s_endpoint = static _ => Task.CompletedTask;
    private ServiceProvider _services = null!;
    private RequestDelegate _gauge = null!;
    private RequestDelegate _middleware = null!;
    private DefaultHttpContext _bareContext = null!;
    private DefaultHttpContext _gaugeContext = null!;
    private DefaultHttpContext _middlewareContext = null!;
    private MeterListener? _listener;

    /// <summary>Who reads the <c>Backpressure</c> meter while the guard runs.</summary>
    public enum MetricsReader
    {
        /// <summary>Nobody: the guard reads no clock.</summary>
        None,

        /// <summary>A listener that discards every measurement.</summary>
        Listener,

        /// <summary>OpenTelemetry's SDK with the Prometheus exporter, as in the server.</summary>
        OpenTelemetry,
    }

    [Params(MetricsReader.None, MetricsReader.Listener, MetricsReader.OpenTelemetry)]
    public MetricsReader Metrics { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        if (Metrics == MetricsReader.OpenTelemetry)
        {
            services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(BackpressureMeter.Name).AddPrometheusExporter());
        }

        _services = services
            .AddLogging()
            .AddOverheadGuards()
            .BuildServiceProvider();

        _gauge = GuardedEndpoint(b => b.RequireBackpressure(OverheadGuards.Gauge)).RequestDelegate!;
        Endpoint limited = GuardedEndpoint(b => b.RequireRateLimiting(OverheadGuards.Middleware));
        var app = new ApplicationBuilder(_services);
        app.UseRateLimiter();
        app.Run(limited.RequestDelegate!);
        _middleware = app.Build();

        _bareContext = Context(null);
        _gaugeContext = Context(null);
        _middlewareContext = Context(limited);

        if (Metrics == MetricsReader.OpenTelemetry)
        {
            // The provider starts collecting when it is built, as the host would build it at start-up.
            _services.GetRequiredService<MeterProvider>();
        }
        else if (Metrics == MetricsReader.Listener)
        {
            _listener = DiscardingMeterListener.Start();
        }

        // A guard that refused, or never ran the endpoint, would measure nothing.
        foreach (var (guarded, context) in new[] { (_gauge, _gaugeContext), (_middleware, _middlewareContext) })
        {
            guarded(context).GetAwaiter().GetResult();
            if (context.Response.StatusCode != StatusCodes.Status200OK)
            {
                throw new InvalidOperationException($"The guarded endpoint answered {context.Response.StatusCode}.");
            }
        }

        var gauge = _services.GetRequiredKeyedService<RateLimiter>(OverheadGuards.Gauge);
        if (gauge.GetStatistics()!.TotalSuccessfulLeases != 1)
        {
            throw new InvalidOperationException("The gauge did not admit the checking request.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener?.Dispose();
        _services.Dispose();
    }

    // Not a baseline: a ratio to a call that takes under a nanosecond says nothing; the extra time does.
    [Benchmark]
    public Task Bare() => s_endpoint(_bareContext);

    [Benchmark]
    public Task Gauge() => _gauge(_gaugeContext);

    [Benchmark]
    public Task Middleware() => _middleware(_middlewareContext);

    /// <summary>Builds an endpoint as routing would, applying the guard's conventions to it.</summary>
    private Endpoint GuardedEndpoint(Action<IEndpointConventionBuilder> guard)
    {
        var builder = new RouteEndpointBuilder(s_endpoint, RoutePatternFactory.Parse("/"), 0) { ApplicationServices = _services };
        var conventions = new Conventions();
        guard(conventions);
        foreach (Action<EndpointBuilder> convention in conventions.Added)
        {
            convention(builder);
        }

        foreach (Action<EndpointBuilder> convention in conventions.Final)
        {
            convention(builder);
        }

        return builder.Build();
    }

    private DefaultHttpContext Context(Endpoint? endpoint)
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        context.Response.Body = Stream.Null;
        context.SetEndpoint(endpoint);
        return context;
    }

    private sealed class Conventions : IEndpointConventionBuilder
    {
        public List<Action<EndpointBuilder>> Added { get; } = [];

        public List<Action<EndpointBuilder>> Final { get; } = [];

        public void Add(Action<EndpointBuilder> convention) => Added.Add(convention);

        public void Finally(Action<EndpointBuilder> finallyConvention) => Final.Add(finallyConvention);
    }
}
