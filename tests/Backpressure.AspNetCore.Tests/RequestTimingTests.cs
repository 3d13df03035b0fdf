using System.Diagnostics.Metrics;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace Backpressure.AspNetCore.Tests;

/// <summary>What <c>RequireBackpressure</c> records of each admitted request's wait and hold.</summary>
public sealed class RequestTimingTests
{
    [Fact]
    public async Task OnlyARequestThatQueuedForItsPermit_RecordsAWait_AndItLastsUntilThePermitFreed()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        // The base library's limiter queues a second request behind the first instead of refusing it.
        builder.Services.AddBackpressure(bp => bp.AddLimiter("one-at-a-time", _ =>
            new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = 1, QueueLimit = 1 })));
        await using var app = builder.Build();
        var firstEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        app.MapGet("/", async () =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                firstEntered.SetResult();
                await releaseFirst.Task;
            }

            return "ok";
        }).RequireBackpressure("one-at-a-time");
        await app.StartAsync();
        var meters = app.Services.GetRequiredService<IMeterFactory>();
        using var waits = new MetricCollector<double>(meters, BackpressureMeter.Name, "backpressure.request.wait");
        using var holds = new MetricCollector<double>(meters, BackpressureMeter.Name, "backpressure.request.duration");
        var limiter = app.Services.GetRequiredKeyedService<RateLimiter>("one-at-a-time");
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };

        Task<HttpResponseMessage> first = client.GetAsync("/");
        await firstEntered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Task<HttpResponseMessage> second = client.GetAsync("/");
        await WaitUntilAsync(() => limiter.GetStatistics()!.CurrentQueuedCount == 1);
        TimeSpan queuedFor = TimeSpan.FromMilliseconds(200);
        await Task.Delay(queuedFor);
        releaseFirst.SetResult();
        using HttpResponseMessage firstResponse = await first;
        using HttpResponseMessage secondResponse = await second;

        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, secondResponse.StatusCode);
        await WaitUntilAsync(() => holds.GetMeasurementSnapshot().Count == 2);
        CollectedMeasurement<double> wait = Assert.Single(waits.GetMeasurementSnapshot());
        Assert.Equal("one-at-a-time", wait.Tags[BackpressureMeter.PolicyTag]);
        Assert.InRange(wait.Value, queuedFor.TotalSeconds, 30);
        await app.StopAsync();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "the condition did not hold within 30 s");
    }
}
