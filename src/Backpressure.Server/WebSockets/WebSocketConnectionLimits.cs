using System.Threading.RateLimiting;
using Backpressure.Partitioning;
using Microsoft.Extensions.Options;

namespace Backpressure.Server.WebSockets;

/// <summary>
/// How many sessions each WebSocket endpoint holds, and each client's share of them: a session holds a socket, a queue
/// and a producer for as long as its client keeps it, so one client opening connections in a loop could otherwise take
/// them all. Both are <see cref="ConcurrencyLimiter"/>s that never queue; a client is its remote address.
/// </summary>
internal sealed class WebSocketConnectionLimits : IDisposable
{
    private readonly Dictionary<string, ConcurrencyLimiter> _endpoints;
    private readonly BoundedPartitionedRateLimiter<string> _perClient;

    public WebSocketConnectionLimits(IOptions<WebSocketEndpointOptions> options)
    {
        WebSocketEndpointOptions limits = options.Value;
        PerClient = limits.EffectiveConnectionsPerClient;
        _endpoints = new[] { FeedSession.Endpoint, IngestSession.Endpoint }.ToDictionary(
            endpoint => endpoint,
            _ => new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = limits.MaxConnections, QueueLimit = 0 }));
        _perClient = new BoundedPartitionedRateLimiter<string>(
            static key => key,
            _ => new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = PerClient, QueueLimit = 0 }),
            new PartitionBoundOptions { MaxPartitions = 100_000 });
    }

    public int PerClient { get; }

    /// <summary>The session's two permits, held until it ends; or null and why not.</summary>
    public (IDisposable? Permits, string? Refusal) TryOpen(string endpoint, string client)
    {
        RateLimitLease share = _perClient.AttemptAcquire($"{endpoint}\n{client}");
        if (!share.IsAcquired)
        {
            share.Dispose();
            return (null, $"this client holds its share of /ws/{endpoint} connections ({PerClient}); close one first");
        }

        RateLimitLease total = _endpoints[endpoint].AttemptAcquire();
        if (!total.IsAcquired)
        {
            total.Dispose();
            share.Dispose();
            return (null, $"/ws/{endpoint} holds all the connections it may; try again later");
        }

        return (new Permits(share, total), null);
    }

    public void Dispose()
    {
        _perClient.Dispose();
        foreach (ConcurrencyLimiter limiter in _endpoints.Values)
        {
            limiter.Dispose();
        }
    }

    private sealed class Permits(RateLimitLease share, RateLimitLease total) : IDisposable
    {
        public void Dispose()
        {
            total.Dispose();
            share.Dispose();
        }
    }
}
