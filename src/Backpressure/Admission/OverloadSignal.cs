namespace Backpressure.Admission;

/// <summary>How loaded a waiting room found its service over one interval, for the threshold controller.</summary>
internal enum OverloadSignal
{
    /// <summary>Nobody waited: the threshold may rise.</summary>
    Calm,

    /// <summary>Requests waited, in a queue not yet standing (absorbing a burst).</summary>
    Busy,

    /// <summary>Requests were refused for want of room, or a standing queue formed: the threshold is cut.</summary>
    Overloaded,
}
