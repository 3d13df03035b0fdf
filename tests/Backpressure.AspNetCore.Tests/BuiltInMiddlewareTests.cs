using System.Net;
using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Backpressure.AspNetCore.Tests;

/// <summary>Our limiters are plain <see cref="RateLimiter"/>s: ASP.NET Core's own middleware takes them as they are.</summary>
public sealed class BuiltInMiddlewareTests
{
    [Fact]
    public async Task OurLimiter_InsideAspNetCoresOwnMiddleware_RefusesWithItsRetryAfter()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = (context, _) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                return ValueTask.CompletedTask;
            };
            o.AddPolicy("fixed", context => RateLimitPartition.Get(RequestPartitioner.RemoteAddress.KeyOf(context), _ =>
                new FixedWindowLimiter(new FixedWindowLimiterOptions { PermitLimit = 2, Window = TimeSpan.FromMinutes(1) })));
        });
        await using var app = builder.Build();
        app.UseRateLimiter();
        app.MapGet("/", () => "ok").RequireRateLimiting("fixed");
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (int i = 0; i < 3; i++)
        {
            last?.Dispose();
            last = await client.GetAsync("/");
            statuses.Add(last.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.InRange(last!.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        last.Dispose();
        await app.StopAsync();
    }
}
