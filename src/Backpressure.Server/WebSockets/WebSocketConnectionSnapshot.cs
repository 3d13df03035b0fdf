namespace Backpressure.Server.WebSockets;

/// <summary>One live connection's queue, and how long its send in progress has waited for the client to read (0 when none waits).</summary>
public sealed record WebSocketConnectionSnapshot(long Id, string Endpoint, string Policy, int Depth, long Bytes, long Dropped, bool Paused, double SendBlockedMilliseconds);
