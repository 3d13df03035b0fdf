namespace Backpressure.Server.Grpc;

/// <summary>The counters of one method's ended calls; live calls are added in when a snapshot is taken.</summary>
internal sealed class GrpcMethodTotals
{
    public long Calls;
    public long Shed;
    private long _sent;
    private long _bytesSent;
    private long _received;
    private long _bytesReceived;
    private long _sendWaitTicks;

    public void Add(GrpcStream ended)
    {
        Interlocked.Add(ref _sent, ended.Sent);
        Interlocked.Add(ref _bytesSent, ended.BytesSent);
        Interlocked.Add(ref _received, ended.Received);
        Interlocked.Add(ref _bytesReceived, ended.BytesReceived);
        Interlocked.Add(ref _sendWaitTicks, ended.SendWait.Ticks);
    }

    // A call ending between the two reads may be counted twice or not at all in one snapshot; /stats accepts that.
    public GrpcMethodStatistics Snapshot(IReadOnlyList<GrpcStream> live, long refused) => new(
        Active: live.Count,
        Refused: refused,
        Calls: Volatile.Read(ref Calls),
        MessagesSent: Volatile.Read(ref _sent) + live.Sum(s => s.Sent),
        BytesSent: Volatile.Read(ref _bytesSent) + live.Sum(s => s.BytesSent),
        MessagesReceived: Volatile.Read(ref _received) + live.Sum(s => s.Received),
        BytesReceived: Volatile.Read(ref _bytesReceived) + live.Sum(s => s.BytesReceived),
        SendWaitMilliseconds: TimeSpan.FromTicks(Volatile.Read(ref _sendWaitTicks)).TotalMilliseconds
            + live.Sum(s => (s.SendWait + s.CurrentSendWait).TotalMilliseconds),
        Shed: Volatile.Read(ref Shed),
        LongestSendBlockedMilliseconds: live.Count == 0 ? 0 : live.Max(s => s.CurrentSendWait.TotalMilliseconds));
}
