namespace Backpressure.Server.WebSockets;

/// <summary>One WebSocket endpoint's sessions: connection counts, and its queues' counters summed over closed and live sessions.</summary>
public sealed record WebSocketEndpointStatistics(
    int Connections,
    long Accepted,
    long SlowDisconnects,
    long TooBigDisconnects,
    long Enqueued,
    long Delivered,
    long Dropped,
    long Queued,
    long QueuedBytes,
    int MaxQueueDepth,
    long Pauses,
    long Resumes,
    double LongestSendBlockedMilliseconds);
