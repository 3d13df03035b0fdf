using BenchmarkDotNet.Running;
using Backpressure.Benchmarks;

// `redis-checks` is a load harness, not a BenchmarkDotNet run: a round trip to a real Redis is
// measured as a latency distribution under concurrency, which BenchmarkDotNet does not model.
if (args is ["redis-checks", ..])
{
    return await RedisCheckHarness.RunAsync(args[1..]);
}

// `distinct-keys` is a hostile client for bench/partitions.sh: what new partition keys do to the server.
if (args is ["distinct-keys", ..])
{
    return await DistinctKeysHarness.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
