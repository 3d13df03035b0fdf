namespace Backpressure.Admission;

/// <summary>Why a <see cref="WaitingRoom{TResource}"/> refused a request.</summary>
public enum ShedReason
{
    /// <summary>The limit was full and the request could not wait (a non-waiting acquire, or no queue configured).</summary>
    LimitFull = 0,

    /// <summary>Its priority was below the admission threshold the overload controller has set.</summary>
    Priority = 1,

    /// <summary>The queue was full of requests at least as important.</summary>
    QueueFull = 2,

    /// <summary>It was waiting and a more important request took its place in the full queue.</summary>
    Displaced = 3,

    /// <summary>It waited as long as it may: the queue's time bound, or less while a standing queue exists.</summary>
    WaitedTooLong = 4,

    /// <summary>Its deadline could not be met: the time left was less than the expected service time.</summary>
    Deadline = 5,
}
