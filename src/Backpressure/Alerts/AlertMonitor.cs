namespace Backpressure.Alerts;

/// <summary>
/// Evaluates <see cref="AlertRule"/>s every <c>interval</c> on a <see cref="TimeProvider"/>. A rule
/// whose value is above its threshold at every evaluation for its duration is raised once
/// (<see cref="Raised"/>); the first evaluation at or under the threshold clears it
/// (<see cref="Cleared"/>) and starts the duration over. So a value that only touches the threshold
/// now and then, for less than the duration each time, never raises anything.
/// </summary>
/// <remarks>
/// Evaluations run one at a time (a timer tick that finds one still running skips), and events are
/// raised on the evaluating thread, outside the monitor's lock. A signal that throws counts as
/// under the threshold for that evaluation.
/// </remarks>
public sealed class AlertMonitor : IDisposable
{
    private readonly Tracked[] _rules;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly Lock _gate = new();
    private ITimer? _timer;
    private int _evaluating;

    /// <summary>Creates the monitor; it evaluates nothing until <see cref="Start"/> or <see cref="Evaluate"/>.</summary>
    /// <param name="rules">The rules, with unique names.</param>
    /// <param name="interval">How often <see cref="Start"/> evaluates; greater than zero.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">Two rules share a name, or the interval is not positive.</exception>
    public AlertMonitor(IEnumerable<AlertRule> rules, TimeSpan interval, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _rules = [.. rules.Select(r => new Tracked(r))];
        if (_rules.GroupBy(r => r.Rule.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"Two alert rules are named '{twice.Key}'.", nameof(rules));
        }

        _interval = interval;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>A rule has been above its threshold for its duration.</summary>
    public event Action<AlertState>? Raised;

    /// <summary>A raised rule's value is back at or under its threshold.</summary>
    public event Action<AlertState>? Cleared;

    /// <summary>The rules' states as of the last evaluation, in the order the rules were given.</summary>
    public IReadOnlyList<AlertState> GetStates()
    {
        lock (_gate)
        {
            return [.. _rules.Select(r => r.State)];
        }
    }

    /// <summary>Starts evaluating every interval. Calling it again does nothing.</summary>
    public void Start()
    {
        lock (_gate)
        {
            _timer ??= _time.CreateTimer(static state => ((AlertMonitor)state!).Evaluate(), this, _interval, _interval);
        }
    }

    /// <summary>Reads every rule's signal once and updates its state, raising and clearing alerts.</summary>
    public void Evaluate()
    {
        if (Interlocked.Exchange(ref _evaluating, 1) == 1)
        {
            return;
        }

        try
        {
            var raised = new List<AlertState>();
            var cleared = new List<AlertState>();
            DateTimeOffset now = _time.GetUtcNow();
            double[] values = [.. _rules.Select(r => Read(r.Rule))];
            lock (_gate)
            {
                for (int i = 0; i < _rules.Length; i++)
                {
                    switch (_rules[i].Update(values[i], now))
                    {
                        case AlertStatus.Firing:
                            raised.Add(_rules[i].State);
                            break;
                        case AlertStatus.Inactive:
                            cleared.Add(_rules[i].State);
                            break;
                    }
                }
            }

            raised.ForEach(state => Raised?.Invoke(state));
            cleared.ForEach(state => Cleared?.Invoke(state));
        }
        finally
        {
            Volatile.Write(ref _evaluating, 0);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
        }
    }

    private static double Read(AlertRule rule)
    {
        try
        {
            return rule.Signal();
        }
#pragma warning disable CA1031 // A broken signal must not stop the other rules from being evaluated.
        catch (Exception)
#pragma warning restore CA1031
        {
            return double.NaN;
        }
    }

    /// <summary>One rule and its state; touched only under the monitor's lock.</summary>
    private sealed class Tracked(AlertRule rule)
    {
        public AlertRule Rule { get; } = rule;

        public AlertState State { get; private set; } = new(rule.Name, AlertStatus.Inactive, 0, rule.Threshold, rule.For, null, null);

        /// <summary>Applies a reading; returns the new status when it is a change into firing or back to inactive from firing, else null.</summary>
        public AlertStatus? Update(double value, DateTimeOffset now)
        {
            AlertStatus was = State.Status;
            if (!(value > Rule.Threshold))
            {
                State = State with { Status = AlertStatus.Inactive, Value = value, Since = null, RaisedAt = null };
                return was == AlertStatus.Firing ? AlertStatus.Inactive : null;
            }

            DateTimeOffset since = State.Since ?? now;
            if (was == AlertStatus.Firing || now - since >= Rule.For)
            {
                State = State with { Status = AlertStatus.Firing, Value = value, Since = since, RaisedAt = State.RaisedAt ?? now };
                return was == AlertStatus.Firing ? null : AlertStatus.Firing;
            }

            State = State with { Status = AlertStatus.Pending, Value = value, Since = since };
            return null;
        }
    }
}
