namespace Backpressure.Queues;

/// <summary>
/// A consistent snapshot of a <see cref="BoundedMessageQueue{T}"/>: taken under the queue's lock,
/// so <c>Enqueued == Delivered + Dropped + Count</c> holds in every snapshot.
/// </summary>
/// <param name="Enqueued">Messages offered and accepted into the accounting (every offer except those refused as <see cref="EnqueueOutcome.Full"/> or <see cref="EnqueueOutcome.Closed"/>, or cancelled while blocked).</param>
/// <param name="Delivered">Messages dequeued by the consumer.</param>
/// <param name="Dropped">Messages dropped by the overflow policy: evicted oldest, or refused newest.</param>
/// <param name="Count">Messages queued now.</param>
/// <param name="Bytes">Bytes queued now, by the queue's size function.</param>
/// <param name="PeakCount">The most messages ever queued at once.</param>
/// <param name="PeakBytes">The most bytes ever queued at once.</param>
/// <param name="IsPaused">Whether the queue is between a <see cref="FlowSignal.Pause"/> and its <see cref="FlowSignal.Resume"/>.</param>
/// <param name="Pauses">How many times the queue signalled <see cref="FlowSignal.Pause"/>.</param>
/// <param name="Resumes">How many times the queue signalled <see cref="FlowSignal.Resume"/>.</param>
public readonly record struct MessageQueueStatistics(
    long Enqueued,
    long Delivered,
    long Dropped,
    int Count,
    long Bytes,
    int PeakCount,
    long PeakBytes,
    bool IsPaused,
    long Pauses,
    long Resumes);
