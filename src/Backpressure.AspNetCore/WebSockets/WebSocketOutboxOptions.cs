using Backpressure.Queues;

namespace Backpressure.AspNetCore.WebSockets;

/// <summary>Options for a <see cref="WebSocketOutbox"/>. Validated once, when the outbox is constructed.</summary>
public sealed class WebSocketOutboxOptions
{
    /// <summary>The connection's queue: capacity, byte limit, overflow policy and watermarks.</summary>
    public BoundedMessageQueueOptions Queue { get; set; } = new();

    /// <summary>
    /// How long the queue may stay full (at or above its high watermark, without draining to its
    /// low one) before the client is disconnected as too slow; under a drop policy, full with not one
    /// message taken by the client meanwhile. Greater than zero. Default: 5 seconds.
    /// </summary>
    public TimeSpan SlowConsumerGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a close waits for the send in progress and the close frame before the connection
    /// is aborted instead (a client that never reads cannot receive a close frame). Greater than zero. Default: 2 seconds.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Queue, nameof(Queue));
        Queue.Validate();
        if (SlowConsumerGracePeriod <= TimeSpan.Zero)
        {
            throw new ArgumentException(
                $"{nameof(SlowConsumerGracePeriod)} must be greater than zero (was {SlowConsumerGracePeriod}).", nameof(SlowConsumerGracePeriod));
        }

        if (CloseTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(CloseTimeout)} must be greater than zero (was {CloseTimeout}).", nameof(CloseTimeout));
        }
    }
}
