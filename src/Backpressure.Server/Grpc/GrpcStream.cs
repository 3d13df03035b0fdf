namespace Backpressure.Server.Grpc;

/// <summary>
/// One gRPC call's counters: messages and bytes each way, and the time its writes waited. Only the
/// call's own handler writes them, one message at a time, so a plain volatile store suffices; readers
/// (<c>/stats</c>, the metrics) may see one counter a message ahead of another.
/// </summary>
internal sealed class GrpcStream : IDisposable
{
    private readonly TimeProvider _time;
    private readonly GrpcStreams _owner;
    private long _sent;
    private long _bytesSent;
    private long _received;
    private long _bytesReceived;
    private long _sendWaitTicks;

    internal GrpcStream(long id, string method, TimeProvider time, GrpcStreams owner, GrpcMethodTotals totals)
    {
        Id = id;
        Method = method;
        _time = time;
        _owner = owner;
        Totals = totals;
        Started = time.GetTimestamp();
    }

    public long Id { get; }

    public string Method { get; }

    public long Started { get; }

    internal GrpcMethodTotals Totals { get; }

    public long Sent => Volatile.Read(ref _sent);

    public long BytesSent => Volatile.Read(ref _bytesSent);

    public long Received => Volatile.Read(ref _received);

    public long BytesReceived => Volatile.Read(ref _bytesReceived);

    /// <summary>Time the call's writes spent waiting for the transport, which they do while the reader's window is closed.</summary>
    public TimeSpan SendWait => _time.GetElapsedTime(0, Volatile.Read(ref _sendWaitTicks));

    /// <summary>Counts a message written whose write waited <paramref name="waitedTicks"/> (in the clock's timestamp units).</summary>
    public void OnSent(int bytes, long waitedTicks)
    {
        Volatile.Write(ref _sendWaitTicks, _sendWaitTicks + waitedTicks);
        Volatile.Write(ref _bytesSent, _bytesSent + bytes);
        Volatile.Write(ref _sent, _sent + 1);
    }

    public void OnReceived(int bytes)
    {
        Volatile.Write(ref _bytesReceived, _bytesReceived + bytes);
        Volatile.Write(ref _received, _received + 1);
    }

    public GrpcStreamStatistics GetStatistics() => new(
        Id, Method, Sent, BytesSent, Received, BytesReceived, SendWait.TotalMilliseconds, _time.GetElapsedTime(Started).TotalSeconds);

    public void Dispose() => _owner.Closed(this);
}
