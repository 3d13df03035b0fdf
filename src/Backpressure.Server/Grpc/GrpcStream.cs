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
    private long _blockedSince;
    private readonly CancellationTokenSource _shed = new();

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

    /// <summary>How long the write in progress has been waiting for the reader's window; zero when none waits.</summary>
    public TimeSpan CurrentSendWait => Volatile.Read(ref _blockedSince) is var since and not 0 ? _time.GetElapsedTime(since) : TimeSpan.Zero;

    /// <summary>Cancelled when the call is shed to keep the server within its memory budget.</summary>
    public CancellationToken Shedding => _shed.Token;

    /// <summary>True once the call has been shed.</summary>
    public bool WasShed => _shed.IsCancellationRequested;

    /// <summary>Records that a write could not complete at once and is waiting, from <paramref name="since"/> (a timestamp).</summary>
    public void OnBlocked(long since) => Volatile.Write(ref _blockedSince, since);

    /// <summary>Resets the call's HTTP/2 stream when it is shed (set by its handler, which knows the transport).</summary>
    public Action? OnShed { get; set; }

    /// <summary>Sheds the call: its stream is reset (<see cref="OnShed"/>) and its handler's waits are cancelled.</summary>
    public void Shed()
    {
        try
        {
            OnShed?.Invoke();
            _shed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call ended meanwhile: nothing left to shed.
        }
    }

    /// <summary>Counts a message written whose write waited <paramref name="waitedTicks"/> (in the clock's timestamp units).</summary>
    public void OnSent(int bytes, long waitedTicks)
    {
        Volatile.Write(ref _blockedSince, 0);
        Volatile.Write(ref _sendWaitTicks, _sendWaitTicks + waitedTicks);
        Volatile.Write(ref _bytesSent, _bytesSent + bytes);
        Volatile.Write(ref _sent, _sent + 1);
    }

    public void OnReceived(int bytes)
    {
        Volatile.Write(ref _bytesReceived, _bytesReceived + bytes);
        Volatile.Write(ref _received, _received + 1);
    }

    /// <summary>A snapshot; its send wait includes the write waiting now, so a stalled reader shows while it stalls.</summary>
    public GrpcStreamStatistics GetStatistics()
    {
        TimeSpan blocked = CurrentSendWait;
        return new(
            Id, Method, Sent, BytesSent, Received, BytesReceived, (SendWait + blocked).TotalMilliseconds, blocked.TotalMilliseconds,
            _time.GetElapsedTime(Started).TotalSeconds);
    }

    public void Dispose()
    {
        Volatile.Write(ref _blockedSince, 0);
        _owner.Closed(this);
        _shed.Dispose();
    }
}
