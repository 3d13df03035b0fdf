using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Backpressure.Server.Tests;

public sealed class RateLimitedEndpointTests
{
    // Long windows and slow refills, so that nothing replenishes while a test runs.
    private static readonly string[] SmallLimits =
    [
        "--Backpressure:RateLimits:fixed-window:PermitLimit=3", "--Backpressure:RateLimits:fixed-window:Window=00:01:00",
        "--Backpressure:RateLimits:sliding-window:PermitLimit=3", "--Backpressure:RateLimits:sliding-window:Window=00:01:00",
        "--Backpressure:RateLimits:token-bucket:TokenLimit=3", "--Backpressure:RateLimits:token-bucket:TokensPerPeriod=1",
        "--Backpressure:RateLimits:token-bucket:ReplenishmentPeriod=00:01:00",
        "--Backpressure:RateLimits:leaky-bucket:PermitsPerPeriod=1", "--Backpressure:RateLimits:leaky-bucket:ReplenishmentPeriod=00:01:00",
        "--Backpressure:RateLimits:leaky-bucket:QueueLimit=0",
    ];

    [Theory]
    [InlineData("fixed-window", 3, "\"fixed-window\";q=3;w=60")]
    [InlineData("sliding-window", 3, "\"sliding-window\";q=3;w=60")]
    [InlineData("token-bucket", 3, "\"token-bucket\";q=1;w=60")]
    [InlineData("leaky-bucket", 1, "\"leaky-bucket\";q=1;w=60")]
    public async Task LimitedEndpoint_AdmitsWhatItsPolicyAllowsPerClient_ThenRefusesWithHeadersAndProblemDetails(
        string policy, int allowed, string policyHeader)
    {
        // Clients named by a header, as behind a gateway that authenticates them and sets it.
        await using var server = await RunningServer.StartAsync([.. SmallLimits, "--Backpressure:ClientIdHeader=X-Client-Id"]);

        for (int i = 0; i < allowed; i++)
        {
            using var admitted = await Get(server, policy, "alice");
            Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
            Assert.Equal(policyHeader, Header(admitted, "RateLimit-Policy"));
            Assert.Equal($"\"{policy}\";r={allowed - i - 1}", Header(admitted, "RateLimit"));
        }

        using var refused = await Get(server, policy, "alice");
        using var otherClient = await Get(server, policy, "bob");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        TimeSpan retryAfter = refused.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.Equal(policyHeader, Header(refused, "RateLimit-Policy"));
        Assert.Equal($"\"{policy}\";r=0;t={retryAfter.TotalSeconds}", Header(refused, "RateLimit"));
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal(429, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(policy, problem.RootElement.GetProperty("policy").GetString());
        Assert.Equal(HttpStatusCode.OK, otherClient.StatusCode);
    }

    [Fact]
    public async Task LimitedEndpoint_WithoutAClientId_CountsTheRemoteAddress()
    {
        await using var server = await RunningServer.StartAsync(SmallLimits);
        for (int i = 0; i < 3; i++)
        {
            (await server.Client.GetAsync("/limited/fixed-window")).Dispose();
        }

        using var refused = await server.Client.GetAsync("/limited/fixed-window");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
    }

    [Fact]
    public async Task LimitedEndpoint_ByDefault_GivesAClientRotatingXClientIdNoMoreThanOneClientsLimit()
    {
        await using var server = await RunningServer.StartAsync(SmallLimits);
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 20; i++)
        {
            using var response = await Get(server, "fixed-window", $"fresh-identity-{i}");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(17, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task Start_WithAMalformedClientIdHeaderName_FailsNamingTheSetting()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync("--Backpressure:ClientIdHeader=X Client"));
        Assert.Contains("Backpressure:ClientIdHeader must be a header name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LeakyBucket_QueuesABurstAndLetsItThroughAtTheConfiguredRate()
    {
        await using var server = await RunningServer.StartAsync(
            "--Backpressure:RateLimits:leaky-bucket:PermitsPerPeriod=5", "--Backpressure:RateLimits:leaky-bucket:ReplenishmentPeriod=00:00:01",
            "--Backpressure:RateLimits:leaky-bucket:QueueLimit=3");
        long started = TimeProvider.System.GetTimestamp();

        var burst = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Get(server, "leaky-bucket", "carol")));
        TimeSpan took = TimeProvider.System.GetElapsedTime(started);

        Assert.All(burst, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Assert.True(took >= TimeSpan.FromMilliseconds(550), $"four requests at 5/s should take about 600 ms, took {took}");
        foreach (var response in burst)
        {
            response.Dispose();
        }
    }

    [Theory]
    [InlineData("--Backpressure:RateLimits:token-bucket:TokensPerPeriod=0", "Rate-limit policy 'token-bucket': TokensPerPeriod must be greater than zero")]
    [InlineData("--Backpressure:RateLimits:token-bucket:TokenLimit=2147483647", "Rate-limit policy 'token-bucket': TokenLimit × ReplenishmentPeriod must be at most")]
    [InlineData("--Backpressure:RateLimits:leaky-bucket:ReplenishmentPeriod=50.00:00:00", "Rate-limit policy 'leaky-bucket': ReplenishmentPeriod / PermitsPerPeriod must be at most 49 days")]
    public async Task Start_WithAnInvalidRateLimit_FailsNamingTheOption(string setting, string message)
    {
        string[] settings = setting.Contains("TokenLimit", StringComparison.Ordinal)
            ? [setting, "--Backpressure:RateLimits:token-bucket:ReplenishmentPeriod=365.00:00:00"]
            : setting.Contains("leaky-bucket", StringComparison.Ordinal) ? [setting, "--Backpressure:RateLimits:leaky-bucket:PermitsPerPeriod=1"] : [setting];
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> Get(RunningServer server, string policy, string client)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/limited/{policy}");
        request.Headers.Add("X-Client-Id", client);
        return server.Client.SendAsync(request);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        string.Join(",", response.Headers.GetValues(name));
}
