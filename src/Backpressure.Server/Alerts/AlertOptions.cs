namespace Backpressure.Server.Alerts;

/// <summary>The server's alert rules, bound from <c>Backpressure:Alerts</c> and validated at start-up.</summary>
public sealed class AlertOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Backpressure:Alerts";

    /// <summary>How often every rule is evaluated. Default: 1 s.</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The rules.</summary>
    public List<AlertRuleOptions> Rules { get; set; } = [];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is wrong.</summary>
    /// <param name="gauges">The pressure gauges and adaptive limits a <c>gauge.utilisation:NAME</c> signal may name.</param>
    public void Validate(IReadOnlyCollection<string> gauges)
    {
        if (EvaluationInterval <= TimeSpan.Zero || EvaluationInterval > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException($"{Section}:{nameof(EvaluationInterval)} must be from 00:00:00.001 to 00:01:00 (was {EvaluationInterval}).");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Rules.Count; i++)
        {
            Rules[i].Validate($"{Section}:{nameof(Rules)}:{i}", gauges);
            if (!names.Add(Rules[i].Name))
            {
                throw new ArgumentException($"{Section}:{nameof(Rules)}:{i}:Name '{Rules[i].Name}' is used by an earlier rule.");
            }
        }
    }
}
