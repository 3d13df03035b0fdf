namespace Backpressure.Queues;

/// <summary>A flow-control transition of a <see cref="BoundedMessageQueue{T}"/>.</summary>
public enum FlowSignal
{
    /// <summary>The queue rose to its high watermark: the producer's source should stop sending.</summary>
    Pause,

    /// <summary>The queue fell back to its low watermark after a pause: the source may send again.</summary>
    Resume,
}
