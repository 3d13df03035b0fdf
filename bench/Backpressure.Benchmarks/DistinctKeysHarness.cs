using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Backpressure.Benchmarks;

/// <summary>
/// A hostile client for <c>bench/partitions.sh</c>: sends <c>COUNT</c> requests to <c>URL</c>, each naming a
/// client never seen before in <c>X-Client-Id</c>, from <c>CONCURRENCY</c> workers; prints
/// <c>requests seconds ok refused unavailable other</c>. Not a BenchmarkDotNet run: it measures what a stream
/// of new keys does to the server, not the cost of a call.
/// </summary>
internal static class DistinctKeysHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not [string url, string countText, string concurrencyText]
            || !int.TryParse(countText, CultureInfo.InvariantCulture, out int count) || count is < 1 or > 10_000_000
            || !int.TryParse(concurrencyText, CultureInfo.InvariantCulture, out int concurrency) || concurrency is < 1 or > 1024)
        {
            await Console.Error.WriteLineAsync("usage: distinct-keys URL COUNT(1..10000000) CONCURRENCY(1..1024)");
            return 2;
        }

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { Timeout = TimeSpan.FromSeconds(30) };
        var uri = new Uri(url);
        int next = -1;
        long[] counts = new long[4];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            for (int i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                request.Headers.Add("X-Client-Id", $"rotating-{i}");
                using HttpResponseMessage response = await client.SendAsync(request);
                Interlocked.Increment(ref counts[response.StatusCode switch
                {
                    HttpStatusCode.OK => 0,
                    HttpStatusCode.TooManyRequests => 1,
                    HttpStatusCode.ServiceUnavailable => 2,
                    _ => 3,
                }]);
            }
        }));
        Console.WriteLine(FormattableString.Invariant($"{count} {clock.Elapsed.TotalSeconds:0.0} {counts[0]} {counts[1]} {counts[2]} {counts[3]}"));
        return 0;
    }
}
