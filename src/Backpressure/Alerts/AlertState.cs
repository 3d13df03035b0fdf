namespace Backpressure.Alerts;

/// <summary>One rule's state at an evaluation.</summary>
/// <param name="Name">The rule's name.</param>
/// <param name="Status">Inactive, pending or firing.</param>
/// <param name="Value">The value read at the last evaluation.</param>
/// <param name="Threshold">The rule's threshold.</param>
/// <param name="For">The rule's duration.</param>
/// <param name="Since">When the value went above the threshold (pending or firing); null while inactive.</param>
/// <param name="RaisedAt">When the alert was raised; null unless firing.</param>
public sealed record AlertState(string Name, AlertStatus Status, double Value, double Threshold, TimeSpan For, DateTimeOffset? Since, DateTimeOffset? RaisedAt);
