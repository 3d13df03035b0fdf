using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Backpressure.Adaptive;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Backpressure.Server.Tests;

public sealed class AdaptiveEndpointTests
{
    [Fact]
    public async Task Adaptive_WhenItsLimitIsFull_RefusesAtOnceWith429AndRetryAfterInSecondsAndMilliseconds_AndServesTheAdmittedCalls()
    {
        // A limit pinned to 2 (min = max) through the nested configuration sections.
        await using var server = await RunningServer.StartAsync(
            "--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:CpuTime=00:00:00.001", "--SeedWork:IoTime=00:00:03",
            "--Backpressure:Adaptive:adaptive:Algorithm:MinLimit=2", "--Backpressure:Adaptive:adaptive:Algorithm:InitialLimit=2",
            "--Backpressure:Adaptive:adaptive:Algorithm:MaxLimit=2");
        var limiter = server.App.Services.GetRequiredKeyedService<AdaptiveConcurrencyLimiter>(ServerApplication.Adaptive.Seed);
        var held = Enumerable.Range(0, 2).Select(_ => server.Client.GetAsync("/adaptive")).ToList();
        for (int i = 0; i < 200 && limiter.InFlight < 2; i++)
        {
            await Task.Delay(50);
        }

        using var refused = await server.Client.GetAsync("/adaptive");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        // Retry-After in whole seconds rounded up, and the same wait to the millisecond in Retry-After-Ms.
        TimeSpan seconds = Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        long milliseconds = long.Parse(Assert.Single(refused.Headers.GetValues("Retry-After-Ms")), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(Math.Ceiling(milliseconds / 1000.0), seconds.TotalSeconds);
        foreach (var response in await Task.WhenAll(held))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }

        Assert.Equal(0, limiter.InFlight);
    }

    [Fact]
    public async Task Stats_ShowTheAdaptiveLimitAndItsPermitsInFlight()
    {
        await using var server = await RunningServer.StartAsync(
            "--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:CpuTime=00:00:00.001", "--SeedWork:IoTime=00:00:00.010");
        using (var response = await server.Client.GetAsync("/adaptive"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using JsonDocument stats = JsonDocument.Parse(await server.Client.GetStringAsync("/stats"));
        JsonElement adaptive = stats.RootElement.GetProperty("gauges").GetProperty("adaptive");

        Assert.True(adaptive.GetProperty("permit_limit").GetInt32() >= 1);
        Assert.Equal(1, adaptive.GetProperty("accepted").GetInt64());
        Assert.Equal(0, adaptive.GetProperty("in_flight").GetInt64());
    }

    [Theory]
    [InlineData("--Backpressure:Adaptive:adaptive:Algorithm:MaxLimit=0", "MaxLimit")]
    [InlineData("--Backpressure:Adaptive:adaptive:GcHeapUsageLimit=1.5", "GcHeapUsageLimit")]
    [InlineData("--Backpressure:Adaptive:adaptive:Limiter:MaxSamplesPerSecond=0", "MaxSamplesPerSecond")]
    [InlineData("--Backpressure:Adaptive:adaptive:Limiter:PacingGain=0.5", "PacingGain")]
    [InlineData("--Backpressure:Adaptive:adaptive:ThreadPoolDelayLimit=00:00:00", "ThreadPoolDelayLimit")]
    [InlineData("--Backpressure:Adaptive:adaptive:CpuUsageLimit=0", "CpuUsageLimit")]
    public async Task ABadAdaptiveOption_StopsStartUpNamingIt(string setting, string option)
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(setting));

        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }
}
