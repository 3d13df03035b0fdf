namespace Backpressure.Alerts;

/// <summary>
/// A rule of the form "<see cref="Signal"/> above <see cref="Threshold"/> for <see cref="For"/>":
/// a queue's depth, a gauge's utilisation, anything that can be read as a number at any moment.
/// </summary>
public sealed class AlertRule
{
    /// <summary>Creates a rule; validated here.</summary>
    /// <param name="name">The alert's name, unique among a monitor's rules.</param>
    /// <param name="signal">Reads the watched value; called on every evaluation, so it must be cheap and thread-safe.</param>
    /// <param name="threshold">The value must be strictly above this to count.</param>
    /// <param name="for">How long the value must stay above before the alert is raised; zero raises at the first evaluation above.</param>
    /// <exception cref="ArgumentException">The name is empty, the threshold not a number, or the duration negative.</exception>
    public AlertRule(string name, Func<double> signal, double threshold, TimeSpan @for)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(signal);
        if (!double.IsFinite(threshold))
        {
            throw new ArgumentException($"The threshold of alert '{name}' must be a finite number (was {threshold}).", nameof(threshold));
        }

        if (@for < TimeSpan.Zero)
        {
            throw new ArgumentException($"The duration of alert '{name}' must not be negative (was {@for}).", nameof(@for));
        }

        Name = name;
        Signal = signal;
        Threshold = threshold;
        For = @for;
    }

    /// <summary>The alert's name.</summary>
    public string Name { get; }

    /// <summary>Reads the watched value.</summary>
    public Func<double> Signal { get; }

    /// <summary>The value must be strictly above this.</summary>
    public double Threshold { get; }

    /// <summary>How long the value must stay above before the alert is raised.</summary>
    public TimeSpan For { get; }
}
