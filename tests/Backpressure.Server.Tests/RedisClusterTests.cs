using System.Net;

namespace Backpressure.Server.Tests;

/// <summary>Two server processes sharing per-client limits on a real three-master Redis Cluster, before and after a failover.</summary>
public sealed class RedisClusterTests(RedisCluster cluster) : IClassFixture<RedisCluster>
{
    private const int Clients = 24;
    private const int Tokens = 5;

    [Fact]
    public async Task TwoServerProcesses_ShareEachClientsBucketOnTheCluster_ExactlyAsOnOneNode_BeforeAndAfterAFailover()
    {
        // Each client (named by X-Client-Id, as a trusted gateway would) has 5 tokens an hour, wherever its requests land.
        // Fail-closed: a request Redis could not decide (a slot moving) is a 503 and asked again, never admitted locally.
        string[] settings =
        [
            "--Backpressure:Store=redis", $"--Backpressure:Redis:Configuration={cluster.Configuration}",
            $"--Backpressure:Redis:KeyPrefix=cluster{Guid.NewGuid():N}", "--Backpressure:Redis:FailurePolicy=FailClosed",
            "--Backpressure:Redis:Timeout=00:00:03", "--Backpressure:ClientIdHeader=X-Client-Id",
            $"--Backpressure:RateLimits:token-bucket:TokenLimit={Tokens}", "--Backpressure:RateLimits:token-bucket:TokensPerPeriod=1",
            "--Backpressure:RateLimits:token-bucket:ReplenishmentPeriod=01:00:00",
        ];
        using ServerProcess first = ServerProcess.Start(settings);
        using ServerProcess second = ServerProcess.Start(settings);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await first.WaitUntilReadyAsync(client);
        await second.WaitUntilReadyAsync(client);
        ServerProcess[] servers = [first, second];

        int[] before = await AdmittedPerClientAsync(client, servers, "before");
        IReadOnlyList<int> masters = await cluster.MastersAsync();
        long[] keysPerMaster = await Task.WhenAll(masters.Select(RedisCluster.KeyCountAsync));
        int promoted = await cluster.FailoverAsync(masters[0]);
        int[] sameClientsAfter = await AdmittedPerClientAsync(client, servers, "before");
        int[] newClientsAfter = await AdmittedPerClientAsync(client, servers, "after");

        Assert.All(before, admitted => Assert.Equal(Tokens, admitted));
        Assert.Equal(3, masters.Count);
        Assert.All(keysPerMaster, keys => Assert.True(keys > 0, $"every master should hold some clients' buckets: {string.Join(", ", keysPerMaster)}"));
        Assert.Contains(promoted, await cluster.MastersAsync());
        // The buckets outlived the failover: the clients that spent their tokens get none back.
        Assert.All(sameClientsAfter, admitted => Assert.Equal(0, admitted));
        Assert.All(newClientsAfter, admitted => Assert.Equal(Tokens, admitted));
    }

    // Eight requests per client, alternating between the servers, all clients at once; the 200s per client.
    private static async Task<int[]> AdmittedPerClientAsync(HttpClient client, ServerProcess[] servers, string cohort)
    {
        return await Task.WhenAll(Enumerable.Range(0, Clients).Select(async c =>
        {
            int admitted = 0;
            for (int i = 0; i < 8; i++)
            {
                admitted += await DecideAsync(client, servers[i % servers.Length], $"{cohort}-{c}") ? 1 : 0;
            }

            return admitted;
        }));
    }

    private static async Task<bool> DecideAsync(HttpClient client, ServerProcess server, string clientId)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, server.Url("/limited/token-bucket"));
            request.Headers.Add("X-Client-Id", clientId);
            using HttpResponseMessage response = await client.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"unexpected {response.StatusCode}");
                return response.StatusCode == HttpStatusCode.OK;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Redis did not decide for {clientId} in 50 attempts");
    }
}
