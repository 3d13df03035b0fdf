namespace Backpressure;

/// <summary>
/// The one <c>System.Diagnostics.Metrics</c> meter every Backpressure package records on, and the names of
/// its tags. Tags are namespaced and mean one thing each, after OpenTelemetry's attribute conventions
/// (<c>docs/metrics.md</c> lists every instrument with its tags).
/// </summary>
public static class BackpressureMeter
{
    /// <summary>The meter's name: what <c>dotnet-counters monitor --counters Backpressure</c> and OpenTelemetry's <c>AddMeter</c> take.</summary>
    public const string Name = "Backpressure";

    /// <summary>The policy (an endpoint's named limit: a gauge, an adaptive limit, a rate limit) a measurement is of.</summary>
    public const string PolicyTag = "backpressure.policy";

    /// <summary>How a request or call was decided: <c>admitted</c>, <c>refused</c> or <c>unavailable</c>.</summary>
    public const string OutcomeTag = "backpressure.outcome";

    /// <summary>What a shared limit does while its store is unreachable: <c>fail_open</c> or <c>fail_closed</c>.</summary>
    public const string FailurePolicyTag = "backpressure.failure_policy";

    /// <summary>What a full queue does with one more message: <c>drop-oldest</c>, <c>drop-newest</c> or <c>block</c>.</summary>
    public const string OverflowPolicyTag = "backpressure.overflow_policy";

    /// <summary>Which kind of queue: for example <c>websocket.feed</c>.</summary>
    public const string QueueTag = "backpressure.queue";

    /// <summary>The tag naming a request's criticality (<c>critical</c>, <c>normal</c>, <c>sheddable</c>, <c>batch</c>).</summary>
    public const string CriticalityTag = "backpressure.criticality";

    /// <summary>The tag naming why a waiting room shed a request (<c>priority</c>, <c>waited_too_long</c>, ...).</summary>
    public const string ShedReasonTag = "backpressure.shed_reason";

    /// <summary>The tag naming a shared memory budget (<see cref="Queues.QueueMemoryBudget"/>).</summary>
    public const string BudgetTag = "backpressure.budget";
}
