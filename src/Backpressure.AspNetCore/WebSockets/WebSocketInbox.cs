using System.Net.WebSockets;
using Backpressure.Queues;

namespace Backpressure.AspNetCore.WebSockets;

/// <summary>
/// The server's side of one WebSocket connection's incoming messages: a bounded queue between the loop that
/// reads the socket (<see cref="AcceptAsync"/>) and the code that processes the messages
/// (<see cref="ReadAllAsync"/>), with application-level flow control. Crossing the queue's high watermark
/// sends the client <see cref="WebSocketInboxOptions.PauseMessage"/> and falling to the low one
/// <see cref="WebSocketInboxOptions.ResumeMessage"/>, through the connection's <see cref="WebSocketOutbox"/>; a
/// client that keeps sending while paused for the grace period is disconnected with
/// <see cref="WebSocketCloseStatus.PolicyViolation"/> (1008), the same rule the outbox applies to a client that
/// does not read.
/// </summary>
/// <remarks>
/// Under <see cref="OverflowPolicy.Block"/> a full queue makes <see cref="AcceptAsync"/> wait, so the read loop
/// stops reading the socket and TCP holds the client back, but never longer than the grace period; under the drop
/// policies a full queue drops (the newest or the oldest message) and <see cref="AcceptAsync"/> says so.
/// </remarks>
/// <typeparam name="T">What the read loop makes of a message.</typeparam>
public sealed class WebSocketInbox<T> : IDisposable
{
    private readonly WebSocketOutbox _control;
    private readonly FullQueueGrace _grace;
    private readonly BoundedMessageQueue<T> _queue;
    private readonly ReadOnlyMemory<byte> _pause;
    private readonly ReadOnlyMemory<byte> _resume;
    private int _slow;

    /// <summary>Creates the inbox of a connection whose outgoing messages (the flow signals among them) go through <paramref name="control"/>.</summary>
    /// <param name="control">The connection's outbox: flow signals are sent, and a slow client is closed, through it.</param>
    /// <param name="options">The queue and the rule; validated here.</param>
    /// <param name="sizeOf">A message's size in bytes, for the queue's byte limit.</param>
    /// <param name="timeProvider">The clock of the grace period; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public WebSocketInbox(WebSocketOutbox control, WebSocketInboxOptions options, Func<T, int> sizeOf, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sizeOf);
        options.Validate();
        _control = control;
        _grace = new FullQueueGrace(options.SlowProducerGracePeriod, timeProvider ?? TimeProvider.System);
        _pause = options.PauseMessage;
        _resume = options.ResumeMessage;
        _queue = new BoundedMessageQueue<T>(options.Queue, sizeOf, OnFlowChanged);
    }

    /// <summary>Ends the queue and gives its bytes back to the shared budget, if it has one.</summary>
    public void Dispose() => _queue.Dispose();

    /// <summary>Whether the client was disconnected for sending on while paused.</summary>
    public bool DisconnectedAsSlow => Volatile.Read(ref _slow) != 0;

    /// <summary>The queue's policy.</summary>
    public OverflowPolicy OverflowPolicy => _queue.OverflowPolicy;

    /// <summary>A consistent snapshot of the queue's counters, the pauses and resumes among them.</summary>
    public MessageQueueStatistics GetStatistics() => _queue.GetStatistics();

    /// <summary>
    /// Takes one message the read loop received. <see cref="EnqueueOutcome.Enqueued"/> or, under a drop policy,
    /// <see cref="EnqueueOutcome.Dropped"/>; <see cref="EnqueueOutcome.Closed"/> when the client has been
    /// disconnected as slow (by this message: it came after the grace period, or there was no room before the
    /// period ended) or the connection is closing. After <see cref="EnqueueOutcome.Closed"/>, stop reading.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting for room.</exception>
    public async ValueTask<EnqueueOutcome> AcceptAsync(T message, CancellationToken cancellationToken = default)
    {
        if (_control.Closing.IsCancellationRequested)
        {
            return EnqueueOutcome.Closed;
        }

        if (_grace.IsOver)
        {
            DisconnectAsSlow();
            return EnqueueOutcome.Closed;
        }

        EnqueueOutcome? outcome = await _grace.EnqueueAsync(_queue, message, _control.Closing, cancellationToken).ConfigureAwait(false);
        if (outcome is null)
        {
            DisconnectAsSlow();
            return EnqueueOutcome.Closed;
        }

        return outcome.Value;
    }

    /// <summary>The messages in the order they were accepted, until <see cref="Complete"/> and the queue is empty.</summary>
    public IAsyncEnumerable<T> ReadAllAsync(CancellationToken cancellationToken = default) => _queue.ReadAllAsync(cancellationToken);

    /// <summary>No more messages will be accepted (the client closed, or the read loop ended); those queued can still be read.</summary>
    public void Complete() => _queue.Complete();

    private void OnFlowChanged(FlowSignal signal)
    {
        _grace.OnFlowChanged(signal);
        _control.TrySend(signal == FlowSignal.Pause ? _pause : _resume);
    }

    private void DisconnectAsSlow()
    {
        Volatile.Write(ref _slow, 1);
        _control.Close(
            WebSocketCloseStatus.PolicyViolation,
            $"kept sending while paused for over {_grace.Period.TotalSeconds:0.#} s",
            drain: false);
    }
}
