using System.Text;
using Backpressure.Queues;

namespace Backpressure.AspNetCore.WebSockets;

/// <summary>Options for a <see cref="WebSocketInbox{T}"/>. Validated once, when the inbox is constructed.</summary>
public sealed class WebSocketInboxOptions
{
    /// <summary>The connection's incoming queue: capacity, byte limit, overflow policy and the watermarks that pause and resume the client.</summary>
    public BoundedMessageQueueOptions Queue { get; set; } = new();

    /// <summary>
    /// How long a client may keep sending while the queue is full (paused, not yet drained to its low
    /// watermark) before it is disconnected with 1008; under <see cref="OverflowPolicy.Block"/>, also the
    /// longest the server stops reading the socket to wait for room. Greater than zero. Default: 5 seconds.
    /// </summary>
    public TimeSpan SlowProducerGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The text message that tells the client to pause. Not empty. Default: <c>{"event":"flow.pause","reason":"buffer full"}</c>.</summary>
    public ReadOnlyMemory<byte> PauseMessage { get; set; } = Encoding.UTF8.GetBytes("{\"event\":\"flow.pause\",\"reason\":\"buffer full\"}");

    /// <summary>The text message that tells the client to resume. Not empty. Default: <c>{"event":"flow.resume"}</c>.</summary>
    public ReadOnlyMemory<byte> ResumeMessage { get; set; } = Encoding.UTF8.GetBytes("{\"event\":\"flow.resume\"}");

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Queue, nameof(Queue));
        Queue.Validate();
        if (SlowProducerGracePeriod <= TimeSpan.Zero)
        {
            throw new ArgumentException(
                $"{nameof(SlowProducerGracePeriod)} must be greater than zero (was {SlowProducerGracePeriod}).", nameof(SlowProducerGracePeriod));
        }

        if (PauseMessage.IsEmpty)
        {
            throw new ArgumentException($"{nameof(PauseMessage)} must not be empty.", nameof(PauseMessage));
        }

        if (ResumeMessage.IsEmpty)
        {
            throw new ArgumentException($"{nameof(ResumeMessage)} must not be empty.", nameof(ResumeMessage));
        }
    }
}
