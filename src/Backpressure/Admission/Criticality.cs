namespace Backpressure.Admission;

/// <summary>
/// How much a request matters when a service must shed: the less critical is shed first. Four
/// levels, as in Google's SRE book (chapter 22, "Criticality"), named for what they are used for.
/// </summary>
public enum Criticality
{
    /// <summary>A user waits and the request must succeed: a checkout, a login, a health check. Never shed by priority, only when the limit and the queue are both out of room.</summary>
    Critical = 0,

    /// <summary>A user waits for it, but a failure is tolerable: most requests. The default.</summary>
    Normal = 1,

    /// <summary>Nobody waits right now and it can be retried: a prefetch, a refresh, a speculative call.</summary>
    Sheddable = 2,

    /// <summary>Background work that can wait minutes: batch jobs, backfills, exports.</summary>
    Batch = 3,
}
