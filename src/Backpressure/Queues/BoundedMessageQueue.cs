using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Backpressure.Queues;

/// <summary>
/// A bounded queue of messages for one consumer (a WebSocket connection, a stream) with an
/// <see cref="OverflowPolicy"/>, an optional byte limit, high/low watermarks that signal
/// <see cref="FlowSignal.Pause"/> and <see cref="FlowSignal.Resume"/>, and exact accounting:
/// <c>Enqueued == Delivered + Dropped + Count</c> in every <see cref="GetStatistics"/> snapshot.
/// Any number of producers and consumers may use it concurrently.
/// </summary>
/// <typeparam name="T">The message type.</typeparam>
/// <remarks>
/// The messages live in a bounded <see cref="Channel{T}"/>, which also evicts the oldest under
/// <see cref="OverflowPolicy.DropOldest"/> (reporting each through its <c>itemDropped</c> callback)
/// and wakes waiting consumers. A channel alone falls short in four ways, so this type adds them
/// under one lock: a byte limit (a channel counts items only), watermarks with hysteresis,
/// counters that are consistent with the items at every instant (a channel updates nothing a
/// caller can read atomically with its count), and a blocked producer that waits for room by
/// bytes as well as by count (a channel's <c>WaitToWriteAsync</c> knows only its count).
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a queue; the domain calls it one.")]
public sealed class BoundedMessageQueue<T> : IDisposable, IBudgetMember
{
    private readonly Channel<T> _channel;
    private readonly Func<T, int>? _sizeOf;
    private readonly Action<FlowSignal>? _flowChanged;
    private readonly int _capacity;
    private readonly long _maxBytes;
    private readonly OverflowPolicy _policy;
    private readonly double _highWatermark;
    private readonly double _lowWatermark;
    private readonly Lock _gate = new();
    private QueueMemoryBudget? _budget;
    private long _lastDelivered;
    private long _joinedAt;

    private long _enqueued;
    private long _delivered;
    private long _dropped;
    private int _count;
    private long _bytes;
    private int _peakCount;
    private long _peakBytes;
    private bool _paused;
    private long _pauses;
    private long _resumes;
    private bool _completed;
    private TaskCompletionSource? _roomFreed;

    /// <summary>Creates the queue.</summary>
    /// <param name="options">The bounds and policy; validated here.</param>
    /// <param name="sizeOf">
    /// A message's size in bytes; must return the same size each time for the same message.
    /// Required when <see cref="BoundedMessageQueueOptions.MaxBytes"/> is set; when null, messages weigh 0 bytes.
    /// </param>
    /// <param name="flowChanged">
    /// Called on each watermark transition, in order, while the queue's lock is held: it must be
    /// quick and must not call back into the queue (write the signal to a channel, set a flag).
    /// </param>
    /// <exception cref="ArgumentException">An option is out of range, or a byte limit is set without <paramref name="sizeOf"/>.</exception>
    public BoundedMessageQueue(BoundedMessageQueueOptions options, Func<T, int>? sizeOf = null, Action<FlowSignal>? flowChanged = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if ((options.MaxBytes > 0 || options.Budget is not null) && sizeOf is null)
        {
            throw new ArgumentException(
                $"A {nameof(BoundedMessageQueueOptions.MaxBytes)} limit or a {nameof(BoundedMessageQueueOptions.Budget)} needs a size function.", nameof(sizeOf));
        }

        _budget = options.Budget;

        _capacity = options.Capacity;
        _maxBytes = options.MaxBytes;
        _policy = options.OverflowPolicy;
        _highWatermark = options.HighWatermark;
        _lowWatermark = options.LowWatermark;
        _sizeOf = sizeOf;
        _flowChanged = flowChanged;
        _channel = Channel.CreateBounded<T>(
            new BoundedChannelOptions(_capacity)
            {
                // Only DropOldest ever writes to a full channel; for the other policies we check room first.
                FullMode = _policy == OverflowPolicy.DropOldest ? BoundedChannelFullMode.DropOldest : BoundedChannelFullMode.Wait,
            },
            _policy == OverflowPolicy.DropOldest ? OnEvicted : null);
        _lastDelivered = _joinedAt = _budget?.Now() ?? 0;
        _budget?.Join(this);
    }

    /// <summary>Messages queued now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether the queue is between a <see cref="FlowSignal.Pause"/> and its <see cref="FlowSignal.Resume"/>.</summary>
    public bool IsPaused => Volatile.Read(ref _paused);

    /// <summary>The policy applied when the queue is full.</summary>
    public OverflowPolicy OverflowPolicy => _policy;

    /// <summary>
    /// Offers a message without waiting. Under <see cref="OverflowPolicy.Block"/> a full queue
    /// answers <see cref="EnqueueOutcome.Full"/> and the message is not taken.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Under <see cref="OverflowPolicy.Block"/>, the message alone is larger than the byte limit, so it could never fit.</exception>
    public EnqueueOutcome TryEnqueue(T item)
    {
        int size = SizeOf(item);
        EnqueueOutcome outcome;
        lock (_gate)
        {
            outcome = OfferLocked(item, size);
        }

        MakeRoomIfOver();
        return outcome;
    }

    /// <summary>
    /// Offers a message. Under <see cref="OverflowPolicy.Block"/> waits for room (by count and by
    /// bytes); the drop policies never wait. A wait cancelled by <paramref name="cancellationToken"/>
    /// throws and leaves no trace in the accounting.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Under <see cref="OverflowPolicy.Block"/>, the message alone is larger than the byte limit.</exception>
    /// <exception cref="OperationCanceledException">The wait for room was cancelled.</exception>
    public ValueTask<EnqueueOutcome> EnqueueAsync(T item, CancellationToken cancellationToken = default)
    {
        int size = SizeOf(item);
        EnqueueOutcome outcome;
        lock (_gate)
        {
            outcome = OfferLocked(item, size);
        }

        if (outcome != EnqueueOutcome.Full)
        {
            MakeRoomIfOver();
            return ValueTask.FromResult(outcome);
        }

        return WaitForRoomAsync(item, size, cancellationToken);
    }

    /// <summary>Takes the oldest message if there is one.</summary>
    public bool TryDequeue(out T item)
    {
        lock (_gate)
        {
            if (!_channel.Reader.TryRead(out item!))
            {
                return false;
            }

            _count--;
            AddBytesLocked(-SizeOf(item));
            _delivered++;
            if (_budget is { } budget)
            {
                Volatile.Write(ref _lastDelivered, budget.Now());
            }

            UpdateFlowLocked();
            if (_roomFreed is { } roomFreed)
            {
                _roomFreed = null;
                roomFreed.TrySetResult();
            }

            return true;
        }
    }

    /// <summary>
    /// Waits until a message can be dequeued (true) or the queue is completed and empty (false).
    /// </summary>
    public ValueTask<bool> WaitToDequeueAsync(CancellationToken cancellationToken = default) =>
        _channel.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Dequeues every message as it arrives, until the queue is completed and drained.</summary>
    public async IAsyncEnumerable<T> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await WaitToDequeueAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryDequeue(out T item))
            {
                yield return item;
            }
        }
    }

    /// <summary>
    /// Accepts no more messages: later offers answer <see cref="EnqueueOutcome.Closed"/>, blocked
    /// producers wake with it, and consumers drain what is queued. Idempotent.
    /// </summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            _channel.Writer.TryComplete();
            if (_roomFreed is { } roomFreed)
            {
                _roomFreed = null;
                roomFreed.TrySetResult();
            }
        }
    }

    /// <summary>Completes the queue and leaves its <see cref="BoundedMessageQueueOptions.Budget"/>, giving back the bytes it still holds. Idempotent.</summary>
    public void Dispose()
    {
        Complete();
        lock (_gate)
        {
            _budget?.Leave(this, _bytes);
            _budget = null;
        }
    }

    /// <summary>A consistent snapshot of the counters.</summary>
    public MessageQueueStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new MessageQueueStatistics(
                _enqueued, _delivered, _dropped, _count, _bytes, _peakCount, _peakBytes, _paused, _pauses, _resumes);
        }
    }

    private async ValueTask<EnqueueOutcome> WaitForRoomAsync(T item, int size, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task roomFreed;
            EnqueueOutcome outcome;
            lock (_gate)
            {
                outcome = OfferLocked(item, size);
                roomFreed = outcome == EnqueueOutcome.Full
                    ? (_roomFreed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task
                    : Task.CompletedTask;
            }

            if (outcome != EnqueueOutcome.Full)
            {
                MakeRoomIfOver();
                return outcome;
            }

            await roomFreed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // After taking bytes it was entitled to while the budget was over its limit, a queue has the budget make room.
    // Outside its own lock: a queue never holds its lock while taking another's.
    private void MakeRoomIfOver()
    {
        if (_budget is { } budget && budget.Used > budget.Limit)
        {
            budget.MakeRoom();
        }
    }

    long IBudgetMember.Bytes => Volatile.Read(ref _bytes);

    long IBudgetMember.LastDelivered => Volatile.Read(ref _lastDelivered);

    long IBudgetMember.JoinedAt => _joinedAt;

    bool IBudgetMember.MayDropOldest => _policy == OverflowPolicy.DropOldest;

    void IBudgetMember.TrimTo(long bytes)
    {
        lock (_gate)
        {
            while (_bytes > bytes && _channel.Reader.TryRead(out T? oldest))
            {
                OnEvicted(oldest);
            }

            UpdateFlowLocked();
        }
    }

    private EnqueueOutcome OfferLocked(T item, int size)
    {
        if (_completed)
        {
            return EnqueueOutcome.Closed;
        }

        // Under a shared budget's pressure the queue is held to its share as well.
        // The budget takes the message's bytes at once when it can (so that concurrent queues see each other's), or
        // answers the share this queue is held to.
        long maxBytes = _maxBytes;
        bool taken = false;
        if (_budget is not null)
        {
            if (_maxBytes == 0 || _bytes + size <= _maxBytes)
            {
                taken = _budget.TryTake(size, _bytes, _maxBytes, this, out maxBytes);
            }
            else
            {
                // Full by its own limit already: the policy decides, within the share if that is smaller.
                maxBytes = _budget.LimitFor(_maxBytes, this);
            }
        }

        if (maxBytes > 0 && size > maxBytes)
        {
            if (_policy == OverflowPolicy.Block)
            {
                if (_maxBytes > 0 && size > _maxBytes)
                {
                    throw new ArgumentOutOfRangeException(
                        nameof(item), size, $"A message of {size} bytes can never fit a queue limited to {_maxBytes} bytes.");
                }

                // Larger than the queue's share of the budget: it waits until the budget is no longer under pressure.
                return EnqueueOutcome.Full;
            }

            _enqueued++;
            _dropped++;
            return EnqueueOutcome.Dropped;
        }

        if (!HasRoomLocked(size, maxBytes))
        {
            switch (_policy)
            {
                case OverflowPolicy.Block:
                    GiveBack(taken, size);
                    return EnqueueOutcome.Full;
                case OverflowPolicy.DropNewest:
                    GiveBack(taken, size);
                    _enqueued++;
                    _dropped++;
                    return EnqueueOutcome.Dropped;
                default:
                    // The channel evicts for count; bytes are ours to free.
                    while (maxBytes > 0 && _bytes + size > maxBytes && _channel.Reader.TryRead(out T? oldest))
                    {
                        OnEvicted(oldest);
                    }

                    break;
            }
        }

        _enqueued++;
        _count++;
        _bytes += size;
        if (!taken)
        {
            // Room was made within the share (or there is no budget): the bytes are this queue's by right.
            _budget?.Add(size);
        }

        bool written = _channel.Writer.TryWrite(item);
        Debug.Assert(written, "The channel refused a message the queue made room for.");
        _peakCount = Math.Max(_peakCount, _count);
        _peakBytes = Math.Max(_peakBytes, _bytes);
        UpdateFlowLocked();
        return EnqueueOutcome.Enqueued;
    }

    // Runs under _gate: the channel invokes itemDropped synchronously inside TryWrite, which we call under the lock.
    private void OnEvicted(T item)
    {
        _count--;
        AddBytesLocked(-SizeOf(item));
        _dropped++;
    }

    // A message the budget took bytes for was not queued after all (the queue is full by count).
    private void GiveBack(bool taken, int size)
    {
        if (taken)
        {
            _budget!.Add(-size);
        }
    }

    private void AddBytesLocked(int delta)
    {
        _bytes += delta;
        _budget?.Add(delta);
    }

    private bool HasRoomLocked(int size, long maxBytes) => _count < _capacity && (maxBytes == 0 || _bytes + size <= maxBytes);

    private void UpdateFlowLocked()
    {
        long maxBytes = _budget is null ? _maxBytes : _budget.CurrentLimit(_maxBytes, this);
        double fill = Math.Max((double)_count / _capacity, maxBytes > 0 ? (double)_bytes / maxBytes : 0);
        if (!_paused && fill >= _highWatermark)
        {
            _paused = true;
            _pauses++;
            _flowChanged?.Invoke(FlowSignal.Pause);
        }
        else if (_paused && fill <= _lowWatermark)
        {
            _paused = false;
            _resumes++;
            _flowChanged?.Invoke(FlowSignal.Resume);
        }
    }

    private int SizeOf(T item) => _sizeOf is null ? 0 : _sizeOf(item);
}
