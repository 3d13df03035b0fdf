namespace Backpressure.Server.WebSockets;

/// <summary>The WebSocket part of <c>/stats</c>.</summary>
/// <param name="Endpoints">Totals per endpoint (<c>feed</c>, <c>ingest</c>).</param>
/// <param name="Deepest">The live connections with the fullest queues, fullest first.</param>
public sealed record WebSocketStatistics(
    IReadOnlyDictionary<string, WebSocketEndpointStatistics> Endpoints,
    IReadOnlyList<WebSocketConnectionSnapshot> Deepest);
