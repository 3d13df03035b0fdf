using System.Globalization;

namespace Backpressure.Server.Alerts;

/// <summary>
/// One rule: <see cref="Signal"/> above <see cref="Threshold"/> for <see cref="For"/>. Signals:
/// <c>queue.depth.max:feed</c> and <c>queue.depth.max:ingest</c> (the deepest WebSocket queue of
/// that endpoint, in messages), <c>queue.depth:feed</c> and <c>queue.depth:ingest</c> (all of that
/// endpoint's queues together), and <c>gauge.utilisation:NAME</c> (a pressure gauge's permits in
/// flight over its limit, 0 to 1).
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

        var (kind, subject) = ParsedSignal;
        bool known = kind switch
        {
            "queue.depth" or "queue.depth.max" => subject is "feed" or "ingest",
            "gauge.utilisation" => gauges.Contains(subject),
            _ => false,
        };
        if (!known)
        {
            throw new ArgumentException(
                $"{path}:{nameof(Signal)} '{Signal}' is not one of queue.depth.max:feed, queue.depth.max:ingest, queue.depth:feed, queue.depth:ingest, "
                + $"gauge.utilisation:{{{string.Join('|', gauges)}}}.");
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
