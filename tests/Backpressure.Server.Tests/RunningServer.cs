using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.Server.Tests;

/// <summary>The real server on Kestrel, bound to an ephemeral loopback port.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private RunningServer(WebApplication app)
    {
        App = app;
        BaseAddress = new Uri(app.Urls.First());
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public static async Task<RunningServer> StartAsync(params string[] settings)
    {
        string[] args = ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. settings];
        WebApplication app = ServerApplication.Build(args);
        await app.StartAsync();
        return new RunningServer(app);
    }

    public PressureGauge Gauge(string name) => App.Services.GetRequiredKeyedService<PressureGauge>(name);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
