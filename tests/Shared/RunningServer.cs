using Backpressure.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.Testing;

/// <summary>
/// The real server on Kestrel, bound to an ephemeral loopback port, for tests that talk to it
/// over HTTP. Compiled into each test project that needs it.
/// </summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private RunningServer(WebApplication app)
    {
        App = app;
        Listeners listeners = app.Services.GetRequiredService<Listeners>();
        GrpcAddress = listeners.GrpcAddress;
        ManagementAddress = listeners.ManagementAddress;
        BaseAddress = new Uri(app.Urls.First(url => new Uri(url) != GrpcAddress && new Uri(url) != ManagementAddress));
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>The gRPC listener (cleartext HTTP/2), on an ephemeral port of its own.</summary>
    public Uri GrpcAddress { get; }

    /// <summary>The management listener, when <c>Backpressure:Management:Url</c> asks for one.</summary>
    public Uri? ManagementAddress { get; }

    /// <summary>Starts the server with settings given as command-line overrides, such as <c>--SeedWork:IoTime=00:00:01</c>.</summary>
    public static async Task<RunningServer> StartAsync(params string[] settings)
    {
        WebApplication app = ServerApplication.Build(["--urls", "http://127.0.0.1:0", "--Backpressure:Grpc:Url=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. settings]);
        await app.StartAsync();
        return new RunningServer(app);
    }

    public Uri Url(string path) => new(BaseAddress, path);

    /// <summary>The <c>ws://</c> address of <paramref name="path"/>.</summary>
    public Uri WebSocketUrl(string path) => new UriBuilder(Url(path)) { Scheme = "ws" }.Uri;

    public PressureGauge Gauge(string name) => App.Services.GetRequiredKeyedService<PressureGauge>(name);

    public PressureGaugeStatistics GaugeStatistics(string name) => (PressureGaugeStatistics)Gauge(name).GetStatistics()!;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
