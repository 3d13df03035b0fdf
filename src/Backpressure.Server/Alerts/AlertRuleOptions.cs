using System.Globalization;

namespace Backpressure.Server.Alerts;

/// <summary>
/// One rule: <see cref="Signal"/> above <see cref="Threshold"/> for <see cref="For"/>. Signals are the
/// library's <see cref="Backpressure.AspNetCore.AlertSignals"/>; this server's queues are
/// <c>websocket.feed</c> and <c>websocket.ingest</c> (<c>queue.depth.max:websocket.feed</c> is the deepest
/// feed queue), and its gauges are named in <c>Backpressure:Gauges</c> and <c>Backpressure:Adaptive</c>
/// (<c>gauge.utilisation:backpressure</c>).
/// </summary>
public sealed class AlertRuleOptions
{
    /// <summary>The alert's name, unique among the rules.</summary>
    public string Name { get; set; } = "";

    /// <summary>What is watched; see the type's summary.</summary>
    public string Signal { get; set; } = "";

    /// <summary>The signal must be strictly above this.</summary>
    public double Threshold { get; set; }

    /// <summary>How long the signal must stay above before the alert is raised.</summary>
    public TimeSpan For { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The signal's kind (<c>queue.depth.max</c>) and subject (<c>feed</c>).</summary>
    public (string Kind, string Subject) ParsedSignal => Signal.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon
        ? (Signal[..colon], Signal[(colon + 1)..])
        : (Signal, "");

    internal void Validate(string path, IReadOnlyCollection<string> gauges)
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new ArgumentException($"{path}:{nameof(Name)} is required.");
        }

        // Checked here, before the server starts, against what this server has; the library reads the signal.
        var (kind, subject) = ParsedSignal;
        bool known = kind switch
        {
            "queue.depth" or "queue.depth.max" => subject is "websocket.feed" or "websocket.ingest",
            "gauge.utilisation" => gauges.Contains(subject),
            "memory_budget.utilisation" => subject == MemoryBudgetOptions.BudgetName,
            _ => false,
        };
        if (!known || !Backpressure.AspNetCore.AlertSignals.Kinds.Contains(kind))
        {
            throw new ArgumentException(
                $"{path}:{nameof(Signal)} '{Signal}' is not one of queue.depth.max:websocket.feed, queue.depth.max:websocket.ingest, "
                + $"queue.depth:websocket.feed, queue.depth:websocket.ingest, gauge.utilisation:{{{string.Join('|', gauges)}}}, "
                + $"memory_budget.utilisation:{MemoryBudgetOptions.BudgetName}.");
        }

        if (!double.IsFinite(Threshold))
        {
            throw new ArgumentException($"{path}:{nameof(Threshold)} must be a number (was {Threshold.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (For < TimeSpan.Zero)
        {
            throw new ArgumentException($"{path}:{nameof(For)} must not be negative (was {For}).");
        }
    }
}
