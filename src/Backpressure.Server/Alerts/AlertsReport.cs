using Backpressure.Alerts;

namespace Backpressure.Server.Alerts;

/// <summary>The body of <c>GET /alerts</c>: every rule and where it stands.</summary>
/// <param name="EvaluatedEverySeconds">How often the rules are evaluated.</param>
/// <param name="Firing">How many alerts are raised now.</param>
/// <param name="Alerts">Each rule's state, in configuration order.</param>
public sealed record AlertsReport(double EvaluatedEverySeconds, int Firing, IReadOnlyList<AlertReport> Alerts)
{
    internal static AlertsReport From(ServerAlerts alerts)
    {
        IReadOnlyList<AlertState> states = alerts.GetStates();
        var reports = alerts.Rules.Zip(states, (rule, state) => new AlertReport(
            state.Name, rule.Signal, state.Threshold, state.For.TotalSeconds, state.Status.ToString().ToLowerInvariant(), state.Value, state.Since, state.RaisedAt)).ToList();
        return new AlertsReport(alerts.EvaluationInterval.TotalSeconds, states.Count(s => s.Status == AlertStatus.Firing), reports);
    }
}
