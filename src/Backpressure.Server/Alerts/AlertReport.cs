namespace Backpressure.Server.Alerts;

/// <summary>One rule in <c>GET /alerts</c>.</summary>
/// <param name="Name">The rule's name.</param>
/// <param name="Signal">What it watches.</param>
/// <param name="Threshold">The signal must be above this.</param>
/// <param name="ForSeconds">For this long.</param>
/// <param name="Status"><c>inactive</c>, <c>pending</c> or <c>firing</c>.</param>
/// <param name="Value">The signal at the last evaluation.</param>
/// <param name="Since">When it went above the threshold, while pending or firing.</param>
/// <param name="RaisedAt">When the alert was raised, while firing.</param>
public sealed record AlertReport(string Name, string Signal, double Threshold, double ForSeconds, string Status, double Value, DateTimeOffset? Since, DateTimeOffset? RaisedAt);
