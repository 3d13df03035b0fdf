using Backpressure.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.Cli.Tests;

/// <summary>The real server on Kestrel, bound to an ephemeral loopback port.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private RunningServer(WebApplication app) => App = app;

    public WebApplication App { get; }

    public Uri Url(string path) => new(new Uri(App.Urls.First()), path);

    public static async Task<RunningServer> StartAsync(params string[] settings)
    {
        var app = ServerApplication.Build(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. settings]);
        await app.StartAsync();
        return new RunningServer(app);
    }

    public PressureGaugeStatistics Gauge(string name) =>
        (PressureGaugeStatistics)App.Services.GetRequiredKeyedService<PressureGauge>(name).GetStatistics()!;

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
