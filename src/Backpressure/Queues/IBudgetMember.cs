namespace Backpressure.Queues;

/// <summary>A queue as its <see cref="QueueMemoryBudget"/> sees it: what it holds, when it last delivered, and whether it may be trimmed from its oldest end.</summary>
internal interface IBudgetMember
{
    /// <summary>The bytes queued now.</summary>
    long Bytes { get; }

    /// <summary>The timestamp (of the budget's clock) when the queue last delivered a message, or joined: the smaller, the longer its consumer has taken nothing.</summary>
    long LastDelivered { get; }

    /// <summary>The timestamp (of the budget's clock) when the queue joined.</summary>
    long JoinedAt { get; }

    /// <summary>Whether the queue's policy lets it lose its oldest messages (drop-oldest).</summary>
    bool MayDropOldest { get; }

    /// <summary>Drops the oldest messages until at most <paramref name="bytes"/> remain.</summary>
    void TrimTo(long bytes);
}
