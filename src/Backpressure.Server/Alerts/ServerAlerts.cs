using System.Diagnostics.Metrics;
using Backpressure.Alerts;
using Backpressure.AspNetCore;
using Microsoft.Extensions.Options;

namespace Backpressure.Server.Alerts;

/// <summary>
/// Runs the configured alert rules, each signal read by the library's <see cref="AlertSignals"/>. A raised alert is
/// logged once as a warning and counted in <c>backpressure.alerts.raised</c>; firing alerts read 1
/// in <c>backpressure.alerts.active</c>; <c>GET /alerts</c> lists every rule's state.
/// </summary>
internal sealed partial class ServerAlerts : IHostedService, IDisposable
{
    private readonly AlertMonitor _monitor;
    private readonly ILogger<ServerAlerts> _logger;
    private readonly Counter<long> _raised;

    public ServerAlerts(IOptions<AlertOptions> options, IServiceProvider services, BackpressureMetrics metrics, TimeProvider time, ILogger<ServerAlerts> logger)
    {
        AlertOptions alerts = options.Value;
        _logger = logger;
        Rules = alerts.Rules;
        EvaluationInterval = alerts.EvaluationInterval;
        AlertSignals signals = services.GetRequiredService<AlertSignals>();
        _monitor = new AlertMonitor(alerts.Rules.Select(r => new AlertRule(r.Name, signals.Resolve(r.Signal), r.Threshold, r.For)), alerts.EvaluationInterval, time);
        _monitor.Raised += OnRaised;
        _monitor.Cleared += OnCleared;
        _raised = metrics.Meter.CreateCounter<long>("backpressure.alerts.raised", "{alert}", "Alerts raised: a rule's signal above its threshold for its duration.");
        metrics.Meter.CreateObservableUpDownCounter("backpressure.alerts.active", ObserveActive, "{alert}", "1 for each firing alert, 0 for each rule that is not.");
    }

    public IReadOnlyList<AlertRuleOptions> Rules { get; }

    public TimeSpan EvaluationInterval { get; }

    public IReadOnlyList<AlertState> GetStates() => _monitor.GetStates();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _monitor.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _monitor.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _monitor.Dispose();

    private IEnumerable<Measurement<long>> ObserveActive() => _monitor.GetStates()
        .Select(s => new Measurement<long>(s.Status == AlertStatus.Firing ? 1 : 0, new KeyValuePair<string, object?>("backpressure.alert", s.Name)));

    private void OnRaised(AlertState state)
    {
        _raised.Add(1, new KeyValuePair<string, object?>("backpressure.alert", state.Name));
        AlertRaised(_logger, state.Name, state.Value, state.Threshold, state.For.TotalSeconds);
    }

    private void OnCleared(AlertState state) => AlertCleared(_logger, state.Name, state.Value, state.Threshold);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Alert {Alert} raised: {Value} has been above {Threshold} for {Seconds} s")]
    private static partial void AlertRaised(ILogger logger, string alert, double value, double threshold, double seconds);

    [LoggerMessage(EventId = 31, Level = LogLevel.Information, Message = "Alert {Alert} cleared: {Value} is back at or under {Threshold}")]
    private static partial void AlertCleared(ILogger logger, string alert, double value, double threshold);
}
