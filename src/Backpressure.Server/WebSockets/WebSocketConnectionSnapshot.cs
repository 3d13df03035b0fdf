namespace Backpressure.Server.WebSockets;

/// <summary>One live connection's queue.</summary>
public sealed record WebSocketConnectionSnapshot(long Id, string Endpoint, string Policy, int Depth, long Bytes, long Dropped, bool Paused);
