using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Backpressure.AspNetCore.Tests;

/// <summary>A quiet Kestrel on an ephemeral 127.0.0.1 port, and a client for it: what each test host starts from.</summary>
internal static class TestHosts
{
    public static WebApplicationBuilder NewBuilder()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        return builder;
    }

    public static HttpClient ClientOf(WebApplication app) => new() { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
}
