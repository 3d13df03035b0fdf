namespace Backpressure.Queues;

/// <summary>
/// Options for <see cref="BoundedMessageQueue{T}"/>. Validated once, when the queue is constructed.
/// </summary>
public sealed class BoundedMessageQueueOptions
{
    /// <summary>The most messages queued at once. Must be greater than zero. Default: 50.</summary>
    public int Capacity { get; set; } = 50;

    /// <summary>
    /// The most bytes queued at once, as measured by the queue's size function, or 0 for no byte
    /// limit (count only). Must not be negative. A count alone does not bound memory when messages
    /// can be large; this does.
    /// </summary>
    public long MaxBytes { get; set; }

    /// <summary>
    /// A byte budget this queue shares with others (for example every WebSocket connection of a server), or null for
    /// none. Under the budget's pressure the queue is held to its fair share as well as to <see cref="MaxBytes"/>;
    /// see <see cref="QueueMemoryBudget"/>. The queue needs a size function, and must be disposed to leave the budget.
    /// </summary>
    public QueueMemoryBudget? Budget { get; set; }

    /// <summary>What happens to a message that finds the queue full. Default: <see cref="OverflowPolicy.DropOldest"/>.</summary>
    public OverflowPolicy OverflowPolicy { get; set; } = OverflowPolicy.DropOldest;

    /// <summary>
    /// The fill (the larger of count ÷ <see cref="Capacity"/> and bytes ÷ <see cref="MaxBytes"/>)
    /// at or above which the queue signals <see cref="FlowSignal.Pause"/>. Greater than
    /// <see cref="LowWatermark"/>, at most 1. Default: 0.8.
    /// </summary>
    public double HighWatermark { get; set; } = 0.8;

    /// <summary>
    /// The fill at or below which a paused queue signals <see cref="FlowSignal.Resume"/>. At least 0,
    /// less than <see cref="HighWatermark"/>; the gap between them keeps the signals from flapping. Default: 0.4.
    /// </summary>
    public double LowWatermark { get; set; } = 0.4;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (Capacity <= 0)
        {
            throw new ArgumentException($"{nameof(Capacity)} must be greater than zero (was {Capacity}).", nameof(Capacity));
        }

        if (MaxBytes < 0)
        {
            throw new ArgumentException($"{nameof(MaxBytes)} must be zero (no byte limit) or positive (was {MaxBytes}).", nameof(MaxBytes));
        }

        if (!Enum.IsDefined(OverflowPolicy))
        {
            throw new ArgumentException($"{nameof(OverflowPolicy)} is not a known policy (was {(int)OverflowPolicy}).", nameof(OverflowPolicy));
        }

        if (!(HighWatermark > 0 && HighWatermark <= 1))
        {
            throw new ArgumentException($"{nameof(HighWatermark)} must be greater than 0 and at most 1 (was {HighWatermark}).", nameof(HighWatermark));
        }

        if (!(LowWatermark >= 0 && LowWatermark < HighWatermark))
        {
            throw new ArgumentException(
                $"{nameof(LowWatermark)} must be at least 0 and less than {nameof(HighWatermark)} {HighWatermark} (was {LowWatermark}).",
                nameof(LowWatermark));
        }
    }
}
