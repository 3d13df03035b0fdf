namespace Backpressure.Server.WebSockets;

/// <summary>The WebSocket part of <c>/stats</c>.</summary>
/// <param name="Endpoints">Totals per endpoint (<c>feed</c>, <c>ingest</c>).</param>
/// <param name="Deepest">The live connections with the fullest queues, fullest first.</param>
/// <param name="LongestBlocked">The live connections whose send has been waiting longest for the client to read, right now: a stalled client shows here while it stalls, not when it recovers.</param>
public sealed record WebSocketStatistics(
    IReadOnlyDictionary<string, WebSocketEndpointStatistics> Endpoints,
    IReadOnlyList<WebSocketConnectionSnapshot> Deepest,
    IReadOnlyList<WebSocketConnectionSnapshot> LongestBlocked);
