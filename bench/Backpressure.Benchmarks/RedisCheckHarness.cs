using System.Diagnostics;
using System.Globalization;
using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using Backpressure.Redis;
using HdrHistogram;
using StackExchange.Redis;

namespace Backpressure.Benchmarks;

/// <summary>
/// Checks per second and latency per check of <see cref="RedisTokenBucketLimiter"/> against a real
/// Redis, with N concurrent callers each checking in a loop. The bucket never runs dry, so every
/// check is one script round trip. Prints one tab-separated line: callers, checks/s, p50 µs, p99 µs.
/// Usage: redis-checks CONFIGURATION CALLERS SECONDS.
/// </summary>
internal static class RedisCheckHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 3 || !int.TryParse(args[1], CultureInfo.InvariantCulture, out int callers) || !double.TryParse(args[2], CultureInfo.InvariantCulture, out double seconds))
        {
            await Console.Error.WriteLineAsync("usage: redis-checks CONFIGURATION CALLERS SECONDS");
            return 2;
        }

        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(args[0]);
        var store = new RedisStore(connection, new RedisStoreOptions { KeyPrefix = $"bench{Guid.NewGuid():N}", Timeout = TimeSpan.FromSeconds(5) });
        var options = new TokenBucketLimiterOptions { TokenLimit = 1_000_000_000, TokensPerPeriod = 1_000_000_000, ReplenishmentPeriod = TimeSpan.FromSeconds(1) };
        using var limiter = new RedisTokenBucketLimiter(store, "client", options);

        await RunCallersAsync(limiter, callers, TimeSpan.FromSeconds(2));
        var (checks, histogram) = await RunCallersAsync(limiter, callers, TimeSpan.FromSeconds(seconds));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{callers}\t{checks / seconds:F0}\t{histogram.GetValueAtPercentile(50)}\t{histogram.GetValueAtPercentile(99)}"));
        return 0;
    }

    private static async Task<(long Checks, LongHistogram Histogram)> RunCallersAsync(RateLimiter limiter, int callers, TimeSpan duration)
    {
        var histograms = Enumerable.Range(0, callers).Select(_ => new LongHistogram(10_000_000, 3)).ToArray();
        var deadline = Stopwatch.StartNew();
        var workers = histograms.Select(histogram => Task.Run(async () =>
        {
            long checks = 0;
            while (deadline.Elapsed < duration)
            {
                long started = Stopwatch.GetTimestamp();
                using RateLimitLease lease = await limiter.AcquireAsync();
                histogram.RecordValue((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                checks++;
            }

            return checks;
        }));
        long[] counts = await Task.WhenAll(workers);
        var all = new LongHistogram(10_000_000, 3);
        foreach (LongHistogram histogram in histograms)
        {
            all.Add(histogram);
        }

        return (counts.Sum(), all);
    }
}
