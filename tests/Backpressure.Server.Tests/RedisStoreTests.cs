using System.Diagnostics;
using System.Net;

namespace Backpressure.Server.Tests;

/// <summary><c>Backpressure:Store=redis</c>: real server processes sharing a real Redis, and what a client sees when Redis is gone.</summary>
public sealed class RedisStoreTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task ThreeServerProcesses_ShareOneClientsTokenBucket_AndAdmitExactlyItsTokensBetweenThem()
    {
        // One token an hour: nothing refills during the test, so exactly the 30 in the bucket are admitted in all.
        string[] settings =
        [
            "--Backpressure:Store=redis", $"--Backpressure:Redis:Configuration={redis.Configuration}",
            $"--Backpressure:Redis:KeyPrefix=procs{Guid.NewGuid():N}",
            // Three processes start at once on two cores: a check slower than the usual 250 ms would fall to the (local) failure policy.
            "--Backpressure:Redis:Timeout=00:00:03",
            "--Backpressure:RateLimits:token-bucket:TokenLimit=30", "--Backpressure:RateLimits:token-bucket:TokensPerPeriod=1",
            "--Backpressure:RateLimits:token-bucket:ReplenishmentPeriod=01:00:00",
        ];
        var servers = new List<ServerProcess>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                servers.Add(ServerProcess.Start(settings));
            }

            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            foreach (ServerProcess server in servers)
            {
                await server.WaitUntilReadyAsync(client);
            }

            // Every request comes from 127.0.0.1: one client, by remote address, whichever instance it reaches.
            var requests = servers.SelectMany(server => Enumerable.Range(0, 40).Select(_ => Task.Run(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, server.Url("/limited/token-bucket"));
                using HttpResponseMessage response = await client.SendAsync(request);
                return response.StatusCode;
            })));
            HttpStatusCode[] statuses = await Task.WhenAll(requests);

            Assert.Equal(30, statuses.Count(s => s == HttpStatusCode.OK));
            Assert.Equal(90, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        }
        finally
        {
            foreach (ServerProcess server in servers)
            {
                server.Dispose();
            }
        }
    }

    [Fact]
    public async Task FailClosed_WithRedisUnreachable_AnswersAtOnceWith503AndRetryAfter_NotWith429()
    {
        await using var server = await RunningServer.StartAsync(
            "--Backpressure:Store=redis", $"--Backpressure:Redis:Configuration=127.0.0.1:{ExternalCommand.FreePort()},connectTimeout=200",
            "--Backpressure:Redis:FailurePolicy=FailClosed", "--Backpressure:Redis:Timeout=00:00:00.200", "--Backpressure:Redis:ProbeInterval=00:00:02");
        var clock = Stopwatch.StartNew();

        using HttpResponseMessage response = await server.Client.GetAsync("/limited/fixed-window");
        string body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        Assert.Contains("Redis", body, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the refusal took {clock.Elapsed}");
    }

    [Fact]
    public async Task FailOpen_WithRedisUnreachable_TheInstanceLimitsAlone()
    {
        await using var server = await RunningServer.StartAsync(
            "--Backpressure:Store=redis", $"--Backpressure:Redis:Configuration=127.0.0.1:{ExternalCommand.FreePort()},connectTimeout=200",
            "--Backpressure:Redis:Timeout=00:00:00.200", "--Backpressure:RateLimits:fixed-window:PermitLimit=3", "--Backpressure:RateLimits:fixed-window:Window=01:00:00");

        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 5; i++)
        {
            using HttpResponseMessage response = await server.Client.GetAsync("/limited/fixed-window");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }

    [Theory]
    [InlineData("--Backpressure:Store=disk", "Backpressure:Store must be memory or redis")]
    [InlineData("--Backpressure:Store=redis", "Redis store (Backpressure:Redis): Configuration is required")]
    public async Task ABadStoreSetting_StopsStartUp_NamingIt(string setting, string message)
    {
        var failure = await Record.ExceptionAsync(() => RunningServer.StartAsync(setting));

        Assert.NotNull(failure);
        Assert.Contains(message, failure.Message, StringComparison.Ordinal);
    }
}
