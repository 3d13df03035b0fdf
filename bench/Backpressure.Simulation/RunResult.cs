namespace Backpressure.Simulation;

/// <summary>What one contender did in one scenario: per phase, and the limit over time.</summary>
public sealed record RunResult(Scenario Scenario, Contender Contender, IReadOnlyList<PhaseResult> Phases, IReadOnlyList<LimitPoint> Trace)
{
    /// <summary>The CoDel target the waiting room had in force at the end of the run; zero with no room.</summary>
    public TimeSpan RoomTarget { get; init; }

    /// <summary>The phase of this name.</summary>
    public PhaseResult this[string phase] => Phases.Single(p => p.Phase.Name == phase);

    /// <summary>
    /// Seconds from <paramref name="from"/> until the limit, averaged over the last second (what the
    /// service effectively had, rather than each step of the control loop), is within ±<paramref name="tolerance"/> of
    /// <paramref name="target"/> and stays there for <paramref name="hold"/> seconds (or to the end
    /// of the trace, or to <paramref name="until"/>); null if it never does.
    /// </summary>
    public double? SettlingTime(double from, double target, double tolerance = 0.1, double hold = 5, double until = double.MaxValue)
    {
        double low = target * (1 - tolerance), high = target * (1 + tolerance);
        double? entered = null;
        var window = new Queue<int>();
        double sum = 0;
        foreach (LimitPoint point in Trace)
        {
            window.Enqueue(point.Limit);
            sum += point.Limit;
            if (window.Count > 10)
            {
                sum -= window.Dequeue();
            }

            if (point.Time < from || point.Time > until)
            {
                continue;
            }

            double average = sum / window.Count;
            bool inside = average >= low && average <= high;
            if (!inside)
            {
                entered = null;
                continue;
            }

            entered ??= point.Time;
            if (point.Time - entered.Value >= hold)
            {
                return entered.Value - from;
            }
        }

        return entered is { } last && Trace[^1].Time - last > 0 ? last - from : null;
    }

    /// <summary>Seconds from <paramref name="from"/> until the limit first reaches at least <paramref name="level"/>; null if it never does.</summary>
    public double? TimeToReach(double from, double level, double until = double.MaxValue)
    {
        foreach (LimitPoint point in Trace)
        {
            if (point.Time >= from && point.Time <= until && point.Limit >= level)
            {
                return point.Time - from;
            }
        }

        return null;
    }

    /// <summary>The least-squares slope of the limit over a stretch, in permits per minute.</summary>
    public double LimitSlopePerMinute(double from, double to)
    {
        double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        foreach (LimitPoint point in Trace)
        {
            if (point.Time < from || point.Time > to)
            {
                continue;
            }

            n++;
            sx += point.Time;
            sy += point.Limit;
            sxx += point.Time * point.Time;
            sxy += point.Time * point.Limit;
        }

        double denominator = (n * sxx) - (sx * sx);
        return n < 2 || denominator == 0 ? 0 : 60 * ((n * sxy) - (sx * sy)) / denominator;
    }
}
