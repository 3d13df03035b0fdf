using System.Threading.RateLimiting;
using Backpressure.Partitioning;
using Grpc.Core;

namespace Backpressure.Grpc;

/// <summary>
/// Each client's share of each method's concurrent calls: a bounded set of per-(method, client) concurrency limits.
/// The client is the peer's address (its port dropped: one client opens many connections), or, behind a trusted
/// gateway, the value of a metadata key the gateway sets.
/// </summary>
internal sealed class GrpcClientShares : IDisposable
{
    private readonly BoundedPartitionedRateLimiter<string> _limiter;
    private readonly string? _clientIdKey;

    public GrpcClientShares(int perClient, int maxClients, string? clientIdKey)
    {
        PerClient = perClient;
        _clientIdKey = clientIdKey;
        // A ConcurrencyLimiter that never queues: a call over its client's share is refused at once.
        _limiter = new BoundedPartitionedRateLimiter<string>(
            static key => key,
            _ => new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = perClient, QueueLimit = 0 }),
            new PartitionBoundOptions { MaxPartitions = maxClients });
    }

    public int PerClient { get; }

    public ValueTask<RateLimitLease> AcquireAsync(ServerCallContext context) =>
        _limiter.AcquireAsync($"{context.Method}\n{ClientOf(context)}", 1, context.CancellationToken);

    public void Dispose() => _limiter.Dispose();

    private string ClientOf(ServerCallContext context)
    {
        if (_clientIdKey is not null && context.RequestHeaders.GetValue(_clientIdKey) is { Length: > 0 } id)
        {
            return id;
        }

        // "ipv4:127.0.0.1:54321", "ipv6:[::1]:54321": the address without the port.
        string peer = context.Peer;
        int port = peer.LastIndexOf(':');
        return port > peer.IndexOf(':', StringComparison.Ordinal) ? peer[..port] : peer;
    }
}
