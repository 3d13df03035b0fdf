using Backpressure.Adaptive;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.AspNetCore;

/// <summary>
/// What an alert rule (<see cref="Alerts.AlertRule"/>) can watch, named as configuration names it
/// (<c>KIND:SUBJECT</c>) and read from the registered policies and observed queues:
/// <list type="bullet">
/// <item><c>gauge.utilisation:POLICY</c>: a pressure gauge's or adaptive limit's permits in flight over its (current) limit, 0 to 1;</item>
/// <item><c>queue.depth:QUEUE</c>: the messages waiting in every queue observed as <c>QUEUE</c> through <see cref="BackpressureMetrics.ObserveQueue"/>;</item>
/// <item><c>queue.depth.max:QUEUE</c>: the deepest single one of them;</item>
/// <item><c>memory_budget.utilisation:NAME</c>: the bytes held under a <see cref="Queues.QueueMemoryBudget"/> observed as <c>NAME</c> over its limit, 0 to 1 (more, briefly, while the largest queues are trimmed).</item>
/// </list>
/// Registered by <see cref="BackpressureServiceCollectionExtensions.AddBackpressureMetrics"/>.
/// </summary>
public sealed class AlertSignals
{
    private readonly IServiceProvider _services;
    private readonly BackpressureMetrics _metrics;

    /// <summary>Creates the signals over the application's policies and <paramref name="metrics"/>' observed queues.</summary>
    public AlertSignals(IServiceProvider services, BackpressureMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(metrics);
        _services = services;
        _metrics = metrics;
    }

    /// <summary>The signal kinds, before the colon.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["gauge.utilisation", "queue.depth", "queue.depth.max", "memory_budget.utilisation"];

    /// <summary>Reads <paramref name="signal"/> (<c>KIND:SUBJECT</c>); each call of the result is the value now.</summary>
    /// <exception cref="ArgumentException">The signal is malformed, of an unknown kind, or names no gauge or adaptive limit; the message says which.</exception>
    public Func<double> Resolve(string signal)
    {
        ArgumentNullException.ThrowIfNull(signal);
        int colon = signal.IndexOf(':', StringComparison.Ordinal);
        string kind = colon > 0 ? signal[..colon] : signal;
        string subject = colon > 0 ? signal[(colon + 1)..] : "";
        if (subject.Length == 0 || !Kinds.Contains(kind))
        {
            throw new ArgumentException(
                $"'{signal}' is not a signal: expected {string.Join(", ", Kinds.Select(k => k + ":NAME"))}.", nameof(signal));
        }

        if (kind == "memory_budget.utilisation")
        {
            // Observed budgets are registered as the host builds its services, possibly after the rules are read: looked up on each read.
            return () => _metrics.Budget(subject) is { } budget ? budget.Used / (double)budget.Limit : 0;
        }

        if (kind != "gauge.utilisation")
        {
            bool deepest = kind == "queue.depth.max";
            return () => _metrics.QueueDepth(subject, deepest);
        }

        if (_services.GetKeyedService<PressureGauge>(subject) is { } gauge)
        {
            return () => gauge.InFlight / (double)gauge.PermitLimit;
        }

        if (_services.GetKeyedService<AdaptiveConcurrencyLimiter>(subject) is { } adaptive)
        {
            return () => adaptive.InFlight / (double)Math.Max(1, adaptive.Limit);
        }

        throw new ArgumentException($"'{signal}' names no pressure gauge or adaptive limit called '{subject}'.", nameof(signal));
    }
}
