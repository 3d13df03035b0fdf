using System.Net;
using System.Threading.RateLimiting;
using Backpressure.Partitioning;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Backpressure.AspNetCore.Tests;

/// <summary><c>AddBackpressure</c>: policies registered once, required names checked at start-up, partitions bounded.</summary>
public sealed class BackpressureBuilderTests
{
    private static IConfiguration Settings(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build();

    [Fact]
    public void AddBackpressure_WithTwoPoliciesOfOneName_ThrowsAtRegistrationNamingIt()
    {
        var services = new ServiceCollection();
        services.AddBackpressure(bp => bp.AddPressureGauge("api", o => o.PermitLimit = 1));

        var e = Assert.Throws<ArgumentException>(() =>
            services.AddBackpressure(bp => bp.AddFixedWindow("api", Settings(("PermitLimit", "1"), ("Window", "00:00:01")))));

        Assert.Contains("'api' is already registered", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithAnEndpointRequiringAnUnregisteredPolicy_FailsNamingIt()
    {
        var builder = TestHosts.NewBuilder();
        builder.Services.AddBackpressure(bp => bp.AddPressureGauge("api", o => o.PermitLimit = 1));
        await using var app = builder.Build();
        app.MapGet("/", () => "ok").RequireBackpressure("apі-typo");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("requires the backpressure policy 'apі-typo', which is not registered", e.Message, StringComparison.Ordinal);
        Assert.Contains("Registered: api.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithAnInvalidPartitionBound_FailsNamingTheOption()
    {
        var builder = TestHosts.NewBuilder();
        builder.Services.AddBackpressure(bp => bp.AddFixedWindow(
            "per-client", Settings(("PermitLimit", "1"), ("Window", "00:00:01"), ("MaxPartitions", "0"))));
        await using var app = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("Partitioning of policy 'per-client': MaxPartitions must be between 1 and 10000000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyRateLimiter_BehindAPolicy_RefusesWithThePolicysAnswer()
    {
        var builder = TestHosts.NewBuilder();
        builder.Services.AddBackpressure(bp => bp.AddLimiter(
            "base-library", _ => new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = 1, QueueLimit = 0 }), RefusalAnswer.ProblemDetails));
        await using var app = builder.Build();
        var release = new TaskCompletionSource();
        var entered = new TaskCompletionSource();
        app.MapGet("/", async () =>
        {
            entered.TrySetResult();
            await release.Task;
            return "ok";
        }).RequireBackpressure("base-library");
        await app.StartAsync();
        using var client = TestHosts.ClientOf(app);

        Task<HttpResponseMessage> held = client.GetAsync("/");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var refused = await client.GetAsync("/");
        release.SetResult();
        using var admitted = await held;

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("The limit 'base-library' is reached", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task ByRemoteAddress_BehindTheForwardedHeadersMiddleware_CountsEachForwardedClientApart()
    {
        var builder = TestHosts.NewBuilder();
        builder.Services.AddBackpressure(bp => bp.AddFixedWindow("per-client", Settings(("PermitLimit", "1"), ("Window", "00:10:00"))));
        await using var app = builder.Build();

        // Loopback is a known proxy by default, as a local reverse proxy would be.
        app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor });
        app.MapGet("/", () => "ok").RequireBackpressure("per-client");
        await app.StartAsync();
        using var client = TestHosts.ClientOf(app);

        async Task<HttpStatusCode> From(string address)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.Add("X-Forwarded-For", address);
            using HttpResponseMessage response = await client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await From("203.0.113.1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await From("203.0.113.1"));
        Assert.Equal(HttpStatusCode.OK, await From("203.0.113.2"));
        await app.StopAsync();
    }

    [Fact]
    public async Task APartitionedPolicy_HoldsNoMoreThanItsBound_AndGivesANewKeyOnlyAPlaceThatHasGoneIdle()
    {
        var builder = TestHosts.NewBuilder();
        builder.Services.AddBackpressure(bp => bp.AddTokenBucket(
            "per-client",
            Settings(("TokenLimit", "5"), ("TokensPerPeriod", "1"), ("ReplenishmentPeriod", "00:00:03"), ("MaxPartitions", "50")),
            o => o.PartitionBy = RequestPartitioner.ClientChosenHeader("X-Client-Id")));
        await using var app = builder.Build();
        app.MapGet("/", () => "ok").RequireBackpressure("per-client");
        await app.StartAsync();
        using var client = TestHosts.ClientOf(app);
        var limiter = Assert.IsType<BoundedPartitionedRateLimiter<HttpContext>>(
            app.Services.GetRequiredKeyedService<BackpressurePolicy>("per-client").Limiter);

        async Task<int> AdmittedOf(int first, int count)
        {
            int admitted = 0;
            for (int i = first; i < first + count; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/");
                request.Headers.Add("X-Client-Id", $"invented-{i}");
                using HttpResponseMessage response = await client.SendAsync(request);
                admitted += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
            }

            return admitted;
        }

        // A bucket that is not full again (for 3 s after its one request) is not idle: evicting it would
        // hand its client a fresh one. So the 250 keys beyond the bound are refused, as unavailable.
        Assert.Equal(50, await AdmittedOf(0, 300));
        Assert.Equal(50, limiter.PartitionCount);
        Assert.Equal(250, limiter.RefusedAtBound);

        // Once the buckets have refilled, new keys take their places.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(50, await AdmittedOf(1000, 50));
        Assert.Equal(50, limiter.PartitionCount);
        Assert.Equal(50, limiter.EvictedPartitions);
        await app.StopAsync();
    }
}
