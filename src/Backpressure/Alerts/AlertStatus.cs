namespace Backpressure.Alerts;

/// <summary>Where a rule stands, in Prometheus's terms.</summary>
public enum AlertStatus
{
    /// <summary>The value was at or under the threshold at the last evaluation.</summary>
    Inactive,

    /// <summary>The value is above the threshold, not yet for long enough.</summary>
    Pending,

    /// <summary>The value has been above the threshold for the rule's duration: the alert is raised.</summary>
    Firing,
}
