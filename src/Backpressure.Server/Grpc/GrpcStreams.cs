using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Backpressure.V1;
using Google.Protobuf.Reflection;

namespace Backpressure.Server.Grpc;

/// <summary>
/// The live gRPC calls of the <c>Flow</c> service and the totals of every call so far, for
/// <c>/stats</c>. Per-call counters are written by the call's own handler and read by anyone.
/// </summary>
internal sealed class GrpcStreams(PartitionedRateLimiter<string> callLimits, TimeProvider time)
{
    private readonly ConcurrentDictionary<long, GrpcStream> _live = new();
    private readonly ConcurrentDictionary<string, GrpcMethodTotals> _totals = new(
        Flow.Descriptor.Methods.Select(m => KeyValuePair.Create(FullName(m), new GrpcMethodTotals())), StringComparer.Ordinal);
    private long _nextId;

    /// <summary>A method's name as gRPC calls carry it: <c>/backpressure.v1.Flow/Subscribe</c>.</summary>
    public static string FullName(MethodDescriptor method) => $"/{method.Service.FullName}/{method.Name}";

    /// <summary>Registers a call of <paramref name="method"/>; dispose the result when the call ends.</summary>
    public GrpcStream Open(string method)
    {
        GrpcMethodTotals totals = _totals.GetOrAdd(method, _ => new GrpcMethodTotals());
        Interlocked.Increment(ref totals.Calls);
        var stream = new GrpcStream(Interlocked.Increment(ref _nextId), method, time, this, totals);
        _live[stream.Id] = stream;
        return stream;
    }

    /// <summary>The calls in progress.</summary>
    public IReadOnlyList<GrpcStreamStatistics> Live() => [.. _live.Values.Select(s => s.GetStatistics())];

    /// <summary>Totals per method (ended calls and live ones) and the <paramref name="deepest"/> live calls that waited longest on flow control.</summary>
    public GrpcStatistics GetStatistics(int deepest = 5)
    {
        var methods = new SortedDictionary<string, GrpcMethodStatistics>(StringComparer.Ordinal);
        foreach (var (method, totals) in _totals)
        {
            long refused = callLimits.GetStatistics(method)?.TotalFailedLeases ?? 0;
            methods[method] = totals.Snapshot([.. _live.Values.Where(s => s.Method == method)], refused);
        }

        var waiting = Live().OrderByDescending(s => s.SendWaitMilliseconds).Take(deepest).ToList();
        return new GrpcStatistics(methods, waiting);
    }

    /// <summary>
    /// Sheds the live call whose write has waited longest for its reader (not <paramref name="except"/>): the slowest
    /// consumer, holding its message in memory the longest. False when no other call is waiting.
    /// </summary>
    public bool ShedSlowest(GrpcStream except)
    {
        GrpcStream? slowest = null;
        TimeSpan longest = TimeSpan.Zero;
        foreach (GrpcStream stream in _live.Values)
        {
            TimeSpan waiting = stream.CurrentSendWait;
            if (stream != except && !stream.WasShed && waiting > longest)
            {
                (slowest, longest) = (stream, waiting);
            }
        }

        if (slowest is null)
        {
            return false;
        }

        Interlocked.Increment(ref slowest.Totals.Shed);
        slowest.Shed();
        return true;
    }

    internal void Closed(GrpcStream stream)
    {
        if (_live.TryRemove(stream.Id, out _))
        {
            stream.Totals.Add(stream);
        }
    }
}
