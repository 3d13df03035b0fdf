using System.Diagnostics;
using System.Globalization;

namespace Backpressure.Testing;

/// <summary>
/// A real Redis Cluster of three masters, each with a replica: six <c>redis-server</c>s in cluster mode on free
/// loopback ports, joined by <c>redis-cli --cluster create</c>, with nothing persisted. <see cref="FailoverAsync"/>
/// promotes a replica as an operator's <c>CLUSTER FAILOVER</c> does. Compiled into each test project that needs it.
/// </summary>
public sealed class RedisCluster : IAsyncLifetime
{
    private readonly List<(int Port, Process Process)> _nodes = [];
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"redis-cluster-{Guid.NewGuid():N}");

    /// <summary>The six nodes' ports; which are masters changes with a failover.</summary>
    public IReadOnlyList<int> Ports => [.. _nodes.Select(n => n.Port)];

    /// <summary>A StackExchange.Redis configuration naming every node; the client discovers the slots from them.</summary>
    public string Configuration =>
        string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.Port}")) + ",abortConnect=false,connectTimeout=2000,syncTimeout=3000,asyncTimeout=3000";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        for (int i = 0; i < 6; i++)
        {
            int port = ExternalCommand.FreePort();
            Process process = RedisServer.Launch(
            [
                "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--protected-mode", "no",
                "--cluster-enabled", "yes", "--cluster-config-file", $"nodes-{port}.conf", "--cluster-node-timeout", "3000",
                "--save", "", "--appendonly", "no", "--dir", _folder,
            ],
            _folder);
            _nodes.Add((port, process));
        }

        foreach (int port in Ports)
        {
            await WaitUntilAsync(async () => (await CliAsync(port, "ping")).Trim() == "PONG", $"node {port} to answer");
        }

        var (exit, output, error) = await ExternalCommand.RunAsync(
            "redis-cli", ["--cluster", "create", .. Ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "1", "--cluster-yes"],
            timeout: TimeSpan.FromSeconds(60));
        if (exit != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed: {output}{error}");
        }

        await WaitUntilHealthyAsync();
    }

    /// <summary>The ports of the nodes that are masters now.</summary>
    public async Task<IReadOnlyList<int>> MastersAsync()
    {
        var masters = new List<int>();
        foreach (int port in Ports)
        {
            if ((await CliAsync(port, "role")).StartsWith("master", StringComparison.Ordinal))
            {
                masters.Add(port);
            }
        }

        return masters;
    }

    /// <summary>Keys held by the node on <paramref name="port"/>.</summary>
    public static async Task<long> KeyCountAsync(int port) => long.Parse((await CliAsync(port, "dbsize")).Trim(), CultureInfo.InvariantCulture);

    /// <summary>
    /// Promotes the replica of the master on <paramref name="masterPort"/> (<c>CLUSTER FAILOVER</c> on the replica: it
    /// catches up first, so nothing is lost) and waits until the cluster is healthy with the new master; returns its port.
    /// </summary>
    public async Task<int> FailoverAsync(int masterPort)
    {
        string masterId = (await CliAsync(masterPort, "cluster", "myid")).Trim();
        int replica = -1;
        foreach (int port in Ports)
        {
            string role = await CliAsync(port, "cluster", "nodes");
            string? self = role.Split('\n').FirstOrDefault(l => l.Contains("myself", StringComparison.Ordinal));
            if (self is not null && self.Contains("slave", StringComparison.Ordinal) && self.Contains(masterId, StringComparison.Ordinal))
            {
                replica = port;
            }
        }

        if (replica < 0)
        {
            throw new InvalidOperationException($"the master on {masterPort} has no replica");
        }

        // Redis gives a coordinated failover up, telling only its own log, when it does not complete within its
        // manual-failover timeout (CLUSTER_MF_TIMEOUT, 5 s); the replica then stays a replica. One CI run waited 30 s for
        // it. So ask again.
        const int Attempts = 3;
        for (int attempt = 1; ; attempt++)
        {
            string answer = (await CliAsync(replica, "cluster", "failover")).Trim();
            if (answer != "OK")
            {
                throw new InvalidOperationException($"CLUSTER FAILOVER on {replica} answered {answer}");
            }

            if (await TryWaitUntilAsync(async () => (await CliAsync(replica, "role")).StartsWith("master", StringComparison.Ordinal), TimeSpan.FromSeconds(10)))
            {
                break;
            }

            if (attempt == Attempts)
            {
                throw new TimeoutException($"{replica} did not become master after {Attempts} CLUSTER FAILOVER requests, 10 s each");
            }
        }

        await WaitUntilHealthyAsync();
        return replica;
    }

    public async Task DisposeAsync()
    {
        foreach ((_, Process process) in _nodes)
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        Directory.Delete(_folder, recursive: true);
    }

    private async Task WaitUntilHealthyAsync()
    {
        foreach (int port in Ports)
        {
            await WaitUntilAsync(
                async () => (await CliAsync(port, "cluster", "info")).Contains("cluster_state:ok", StringComparison.Ordinal),
                $"node {port} to see the cluster healthy");
        }
    }

    private static async Task<string> CliAsync(int port, params string[] command)
    {
        var (exit, output, error) = await ExternalCommand.RunAsync(
            "redis-cli", ["-p", port.ToString(CultureInfo.InvariantCulture), .. command], timeout: TimeSpan.FromSeconds(10));
        return exit == 0 ? output : throw new InvalidOperationException($"redis-cli -p {port} {string.Join(' ', command)}: {error}");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        if (!await TryWaitUntilAsync(condition, TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"waited 30 s for {what}");
        }
    }

    // Polls every 100 ms; false when the condition never held within `within`.
    private static async Task<bool> TryWaitUntilAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        for (int i = 0; i < within.TotalMilliseconds / 100; i++)
        {
            try
            {
                if (await condition())
                {
                    return true;
                }
            }
            catch (InvalidOperationException)
            {
                // Not answering yet.
            }

            await Task.Delay(100);
        }

        return false;
    }
}
