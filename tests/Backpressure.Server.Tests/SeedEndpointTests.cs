using System.Net;
using Microsoft.Extensions.Options;

namespace Backpressure.Server.Tests;

public sealed class SeedEndpointTests
{
    private static readonly string[] FastWork =
    [
        "--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:CpuTime=00:00:00.001", "--SeedWork:IoTime=00:00:00.010",
    ];

    [Theory]
    [InlineData("/sync")]
    [InlineData("/async")]
    [InlineData("/backpressure")]
    [InlineData("/aspnet-concurrency")]
    [InlineData("/adaptive")]
    public async Task SeedEndpoint_WithRoom_DoesTheWorkAndAnswersDone(string path)
    {
        await using var server = await RunningServer.StartAsync(FastWork);

        using var response = await server.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("done ", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backpressure_WhenTheGaugeIsFull_AnswersTooManyRequestsAtOnceWithRetryAfter()
    {
        await using var server = await RunningServer.StartAsync(
            "--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:IoTime=00:00:05",
            "--Backpressure:Gauges:backpressure:PermitLimit=2");
        var held = Enumerable.Range(0, 2).Select(_ => server.Client.GetAsync("/backpressure")).ToList();
        await WaitUntil(() => server.Gauge(ServerApplication.Gauges.Backpressure).InFlight == 2);

        var started = TimeProvider.System.GetTimestamp();
        using var refused = await server.Client.GetAsync("/backpressure");
        var refusalTime = TimeProvider.System.GetElapsedTime(started);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.Equal("Too many requests", await refused.Content.ReadAsStringAsync());
        Assert.True(refusalTime < TimeSpan.FromSeconds(2), $"the refusal took {refusalTime}");
        foreach (var response in await Task.WhenAll(held))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }
    }

    [Fact]
    public async Task Request_OnAFreshServer_RefusesWithARetryAfterAfterWhichTheCallerIsAdmitted()
    {
        // The seed's client waits Retry-After and tries again. The first refusals come before any
        // permit has been returned, so the gauge cannot yet have seen the 2 s the work takes.
        await using var server = await RunningServer.StartAsync();
        var held = Enumerable.Range(0, 10).Select(_ => server.Client.GetAsync("/request")).ToList();
        await WaitUntil(() => server.Gauge(ServerApplication.Gauges.Request).InFlight == 10);

        using var refused = await server.Client.GetAsync("/request");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        TimeSpan retryAfter = refused.Headers.RetryAfter!.Delta!.Value;
        await Task.Delay(retryAfter);
        using var retried = await server.Client.GetAsync("/request");

        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        foreach (var response in await Task.WhenAll(held))
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Request_UnderHeyDefaults_AdmitsFortyAndRefusesOneHundredSixtyInAboutEightSeconds()
    {
        // hey -n 200 -c 50: fifty workers, four requests each, one after another.
        await using var server = await RunningServer.StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 50 })
        {
            BaseAddress = server.BaseAddress,
        };
        var statuses = new List<HttpStatusCode>();
        bool everyRefusalHasRetryAfter = true;
        long started = TimeProvider.System.GetTimestamp();

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 4; i++)
            {
                using var response = await client.GetAsync("/request");
                lock (statuses)
                {
                    statuses.Add(response.StatusCode);
                    everyRefusalHasRetryAfter &= response.StatusCode != HttpStatusCode.TooManyRequests
                        || response.Headers.RetryAfter?.Delta is not null;
                }
            }
        })));
        TimeSpan total = TimeProvider.System.GetElapsedTime(started);

        Assert.Equal(40, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(160, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.True(everyRefusalHasRetryAfter);
        Assert.InRange(total, TimeSpan.FromSeconds(7.9), TimeSpan.FromSeconds(14));
    }

    [Fact]
    public async Task Backpressure_WhenTheClientDisconnectsMidRequest_ReturnsThePermit()
    {
        await using var server = await RunningServer.StartAsync(
            "--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:IoTime=00:01:00");
        var gauge = server.Gauge(ServerApplication.Gauges.Backpressure);
        using var cts = new CancellationTokenSource();

        var request = server.Client.GetAsync("/backpressure", cts.Token);
        await WaitUntil(() => gauge.InFlight == 1);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);

        await WaitUntil(() => gauge.InFlight == 0);
        Assert.Equal(0, gauge.InFlight);
    }

    [Theory]
    [InlineData("--Backpressure:Gauges:backpressure:PermitLimit=0", "PermitLimit must be greater than zero")]
    [InlineData("--Backpressure:Gauges:request:PermitLimit=-3", "PermitLimit must be greater than zero")]
    [InlineData("--SeedWork:IoTime=-00:00:01", "SeedWork:IoTime")]
    [InlineData("--SeedWork:MemoryPerCallMegabytes=-1", "SeedWork:MemoryPerCallMegabytes")]
    [InlineData("--SeedRequest:HoldTime=-00:00:01", "SeedRequest:HoldTime")]
    public async Task Start_WithAnInvalidSetting_FailsNamingTheSetting(string setting, string expected)
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(setting));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/overhead/bare")]
    [InlineData("/overhead/gauge")]
    [InlineData("/overhead/rate-limiter")]
    public async Task OverheadEndpoint_AnswersOk(string path)
    {
        await using var server = await RunningServer.StartAsync();
        Assert.Equal("ok", await server.Client.GetStringAsync(path));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50);
        }
    }
}
