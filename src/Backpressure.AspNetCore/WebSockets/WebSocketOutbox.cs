using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Net.WebSockets;
using Backpressure.Queues;

namespace Backpressure.AspNetCore.WebSockets;

/// <summary>
/// The server's side of one WebSocket connection's outgoing messages: a bounded queue with an
/// overflow policy in front of the socket, a single send loop (<see cref="RunAsync"/>), and the
/// slow-consumer rule, so a client holds at most one queue's worth of the server's memory and
/// never slows anyone else down. The rule depends on the policy: under
/// <see cref="Queues.OverflowPolicy.Block"/>, where nothing may be dropped, a queue that stays
/// full (over its high watermark, not drained to its low one) for the grace period disconnects the
/// client with <see cref="WebSocketCloseStatus.PolicyViolation"/> (1008); under the drop policies a
/// client that keeps reading, however slowly, is served by dropping, and is disconnected only when
/// its queue stays full for the grace period with not one message taken (a client that stopped reading).
/// </summary>
/// <remarks>
/// WebSocket has no application-level flow control: <see cref="WebSocket.SendAsync(ReadOnlyMemory{byte}, WebSocketMessageType, bool, CancellationToken)"/>
/// to a client that does not read simply waits once TCP's buffers fill. The queue absorbs bursts,
/// the policy decides what a full queue does, and the grace period bounds how long the server
/// keeps trying.
/// </remarks>
public sealed class WebSocketOutbox : IDisposable
{
    private readonly WebSocket _socket;
    private readonly TimeProvider _time;
    private readonly FullQueueGrace _grace;
    private readonly TimeSpan _closeTimeout;
    private readonly BoundedMessageQueue<ReadOnlySequence<byte>> _queue;
    private readonly CancellationTokenSource _stopSending = new();
    private readonly CancellationTokenSource _abortSend = new();
    private readonly Lock _closing = new();
    private readonly CancellationTokenSource _closed = new();
    private ITimer? _abortTimer;
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeReason;
    private bool _drain;
    private bool _slow;
    private long _sendBlockedSince;

    /// <summary>Creates the outbox for an accepted socket. Nothing is sent until <see cref="RunAsync"/> runs.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public WebSocketOutbox(WebSocket socket, WebSocketOutboxOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _socket = socket;
        _time = timeProvider ?? TimeProvider.System;
        _grace = new FullQueueGrace(options.SlowConsumerGracePeriod, _time);
        _closeTimeout = options.CloseTimeout;
        // A message is counted at its full length even where its parts are shared with other messages: the limits bound what
        // the queue would cost if every message were its own copy, which is what a client can make it hold.
        _queue = new BoundedMessageQueue<ReadOnlySequence<byte>>(options.Queue, m => checked((int)m.Length), _grace.OnFlowChanged);
    }

    /// <summary>Whether the client was disconnected for staying over its queue's limit.</summary>
    public bool DisconnectedAsSlow
    {
        get
        {
            lock (_closing)
            {
                return _slow;
            }
        }
    }

    /// <summary>The close status the server sent or will send, once a close was requested.</summary>
    public WebSocketCloseStatus? CloseStatus
    {
        get
        {
            lock (_closing)
            {
                return _closeStatus;
            }
        }
    }

    /// <summary>
    /// Whether the queue is between its pause and resume watermarks: the client is not keeping up. A producer of live
    /// data may make fewer messages meanwhile, since most of them would only be dropped.
    /// </summary>
    public bool IsPaused => _queue.IsPaused;

    /// <summary>How long the send in progress has been waiting for the client to read; zero when no send is waiting.</summary>
    public TimeSpan CurrentSendWait => Volatile.Read(ref _sendBlockedSince) is var since and not 0 ? _time.GetElapsedTime(since) : TimeSpan.Zero;

    /// <summary>Cancelled once a close has been requested, by anyone: producers stop on it.</summary>
    public CancellationToken Closing => _closed.Token;

    /// <summary>The queue's policy.</summary>
    public OverflowPolicy OverflowPolicy => _queue.OverflowPolicy;

    /// <summary>A consistent snapshot of the queue's counters.</summary>
    public MessageQueueStatistics GetStatistics() => _queue.GetStatistics();

    /// <summary>
    /// Queues a text message without waiting, for callers that must not wait (a flow-control
    /// callback): under <see cref="Queues.OverflowPolicy.Block"/> a full queue answers <see cref="EnqueueOutcome.Full"/>.
    /// </summary>
    public EnqueueOutcome TrySend(ReadOnlyMemory<byte> message) => TrySend(new ReadOnlySequence<byte>(message));

    /// <summary>
    /// Queues a text message kept in parts without waiting; see <see cref="TrySend(ReadOnlyMemory{byte})"/>. The parts
    /// are sent as one message, joined when it is sent, so a payload shared by many messages (behind a small header of
    /// each one's own) is never copied for a message that is dropped unsent.
    /// </summary>
    public EnqueueOutcome TrySend(ReadOnlySequence<byte> message) =>
        DisconnectIfOverGrace() ? EnqueueOutcome.Closed : _queue.TryEnqueue(message);

    /// <summary>
    /// Queues a text message for the client. Under <see cref="Queues.OverflowPolicy.Block"/> waits for
    /// room, but never longer than the grace period allows: a client still too slow by then is
    /// disconnected and the answer is <see cref="EnqueueOutcome.Closed"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public ValueTask<EnqueueOutcome> SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        SendAsync(new ReadOnlySequence<byte>(message), cancellationToken);

    /// <summary>
    /// Queues a text message kept in parts; see <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/> and
    /// <see cref="TrySend(ReadOnlySequence{byte})"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the message's type, ReadOnlyMemory or ReadOnlySequence, which no call can confuse.")]
    public async ValueTask<EnqueueOutcome> SendAsync(ReadOnlySequence<byte> message, CancellationToken cancellationToken = default)
    {
        if (DisconnectIfOverGrace())
        {
            return EnqueueOutcome.Closed;
        }

        EnqueueOutcome? outcome = await _grace.EnqueueAsync(_queue, message, _closed.Token, cancellationToken).ConfigureAwait(false);
        if (outcome is null)
        {
            DisconnectAsSlow();
            return EnqueueOutcome.Closed;
        }

        return outcome.Value;
    }

    /// <summary>
    /// Asks for the connection to close with <paramref name="status"/>. With <paramref name="drain"/>
    /// the queued messages are sent first; without, sending stops after the message in progress.
    /// The first request wins; later ones are ignored.
    /// </summary>
    public void Close(WebSocketCloseStatus status, string reason, bool drain) => TryClose(status, reason, drain, slow: false);

    private bool TryClose(WebSocketCloseStatus status, string reason, bool drain, bool slow)
    {
        lock (_closing)
        {
            if (_closeStatus is not null)
            {
                return false;
            }

            _closeStatus = status;
            _closeReason = reason;
            _drain = drain;
            _slow = slow;
        }

        _queue.Complete();
        // The tokens' waiters (the producer, the send loop) run on the thread pool, not inline here: inline, one could
        // end the session and dispose this outbox while its close is still cancelling them (seen when a drain closed a feed).
        _ = _closed.CancelAsync();
        if (!drain)
        {
            _ = _stopSending.CancelAsync();
            _abortTimer = _time.CreateTimer(static s => ((CancellationTokenSource)s!).Cancel(), _abortSend, _closeTimeout, Timeout.InfiniteTimeSpan);
        }

        return true;
    }

    /// <summary>
    /// The send loop: sends queued messages one at a time until a close is requested, then sends
    /// the close frame (or aborts the connection if that cannot happen within the close timeout).
    /// Returns when nothing more will be sent. Call once.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using CancellationTokenRegistration aborted = cancellationToken.Register(static s => ((WebSocketOutbox)s!).Abort(), this);
        try
        {
            while (await _queue.WaitToDequeueAsync(_stopSending.Token).ConfigureAwait(false))
            {
                while (!_stopSending.IsCancellationRequested && _queue.TryDequeue(out ReadOnlySequence<byte> message))
                {
                    if (_queue.OverflowPolicy != OverflowPolicy.Block)
                    {
                        // Under a drop policy a client that still reads is slow, not stuck: dropping serves it. Its grace restarts.
                        _grace.Restart();
                    }

                    ValueTask send = message.IsSingleSegment
                        ? _socket.SendAsync(message.First, WebSocketMessageType.Text, endOfMessage: true, _abortSend.Token)
                        : SendJoinedAsync(message);
                    if (!send.IsCompleted)
                    {
                        // The socket's buffers are full: the client is not reading. Recorded so that a wait in progress is visible, not only a finished one.
                        Volatile.Write(ref _sendBlockedSince, _time.GetTimestamp());
                        try
                        {
                            await send.ConfigureAwait(false);
                        }
                        finally
                        {
                            Volatile.Write(ref _sendBlockedSince, 0);
                        }
                    }
                    else
                    {
                        await send.ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException)
        {
            // The peer went away mid-send; there is no one left to close with.
            Close(WebSocketCloseStatus.EndpointUnavailable, "connection lost", drain: false);
            return;
        }

        await SendCloseFrameAsync().ConfigureAwait(false);
    }

    // The socket sends one buffer as one frame. A message in parts is joined into a pooled buffer as it is sent, rather
    // than sent as fragments: every part would be a flush of its own, and a client would see one message in several frames.
    private async ValueTask SendJoinedAsync(ReadOnlySequence<byte> message)
    {
        int length = checked((int)message.Length);
        byte[] joined = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            message.CopyTo(joined);
            await _socket.SendAsync(joined.AsMemory(0, length), WebSocketMessageType.Text, endOfMessage: true, _abortSend.Token).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(joined);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _abortTimer?.Dispose();
        _queue.Dispose();
        _stopSending.Dispose();
        _abortSend.Dispose();
        _closed.Dispose();
    }

    private async Task SendCloseFrameAsync()
    {
        WebSocketCloseStatus status;
        string? reason;
        bool drain;
        lock (_closing)
        {
            status = _closeStatus ?? WebSocketCloseStatus.NormalClosure;
            reason = _closeReason;
            drain = _drain;
        }

        if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        using var timeout = new CancellationTokenSource(_closeTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, drain ? CancellationToken.None : _abortSend.Token);
        try
        {
            await _socket.CloseOutputAsync(status, reason, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            _socket.Abort();
        }
    }

    private void Abort()
    {
        Close(WebSocketCloseStatus.EndpointUnavailable, "request aborted", drain: false);
        _abortSend.Cancel();
    }

    private bool DisconnectIfOverGrace()
    {
        if (!_grace.IsOver)
        {
            // Checked on every message: the token is set right after the close is recorded, and costs no lock.
            return _closed.IsCancellationRequested;
        }

        DisconnectAsSlow();
        return true;
    }

    private void DisconnectAsSlow() =>
        TryClose(WebSocketCloseStatus.PolicyViolation, $"slow consumer: queue full for over {_grace.Period.TotalSeconds:0.#} s", drain: false, slow: true);
}
