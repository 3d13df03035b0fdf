namespace Backpressure.Queues;

/// <summary>What became of a message offered to a <see cref="BoundedMessageQueue{T}"/>.</summary>
public enum EnqueueOutcome
{
    /// <summary>The message is queued (under <see cref="OverflowPolicy.DropOldest"/>, perhaps after evicting older ones).</summary>
    Enqueued,

    /// <summary>The message was dropped: the queue was full under <see cref="OverflowPolicy.DropNewest"/>, or the message alone is larger than the byte limit.</summary>
    Dropped,

    /// <summary>The queue was full under <see cref="OverflowPolicy.Block"/> and the caller asked not to wait; the message was not taken.</summary>
    Full,

    /// <summary>The queue was completed; the message was not taken.</summary>
    Closed,
}
