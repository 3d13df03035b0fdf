namespace Backpressure.Queues;

/// <summary>What a <see cref="BoundedMessageQueue{T}"/> does with a message that finds it full.</summary>
public enum OverflowPolicy
{
    /// <summary>
    /// Evict the oldest queued messages until the new one fits. For live data (tickers, metrics)
    /// where only the latest value matters.
    /// </summary>
    DropOldest,

    /// <summary>
    /// Drop the new message and keep what is queued. For ordered messages where the earliest
    /// matter most. (Channels calls this <c>BoundedChannelFullMode.DropWrite</c>.)
    /// </summary>
    DropNewest,

    /// <summary>
    /// The producer waits until there is room; nothing is ever dropped. For streams where loss is
    /// unacceptable: the wait is the backpressure, passed on to whatever feeds the producer.
    /// </summary>
    Block,
}
