namespace Backpressure.Admission;

/// <summary>
/// The overload controller of a waiting room: once an interval, from the arrivals of each priority rank and
/// whether the service was overloaded, it moves the lowest rank admitted. Reads no clock and takes no lock; its
/// caller runs it on one thread at a time.
/// </summary>
/// <remarks>
/// <para>
/// The rule is WeChat's DAGOR (Zhou et al., "Overload Control for Scaling WeChat Microservices", SoCC 2018,
/// section 4.2): keep a histogram of arrivals by priority, and each interval set the threshold where the
/// arrivals at or above it add up to what should be admitted next: <c>1 − α</c> of what was admitted when
/// overloaded, <c>1 + β</c> when not, with DAGOR's α = 5 % and β = 1 %, so it cuts faster than it grows back.
/// </para>
/// <para>
/// Two changes of ours. When overloaded, the cut starts from what the limit actually granted in the interval,
/// not from what the threshold let through, so a threefold overload is cut to size in one interval instead
/// of the twenty-odd that 5 % steps need. When calm, the threshold also rises by at least a number of ranks (4, then 8, 16 and so on) that
/// doubles with each calm interval, so a threshold cut deep by a spike comes back within a second of its end
/// however little then arrives (a 1 % rise of a trickle would take minutes), while the short calm spells of a
/// steady overload move it by a rank or two. And the histogram is smoothed over intervals (each new interval
/// weighs a quarter, and so does the count granted), so the cut between cohorts does not jitter with the noise of one interval's arrivals:
/// the same cohorts stay shed. Critical requests are never below the threshold.
/// </para>
/// </remarks>
internal sealed class AdmissionThreshold
{
    /// <summary>DAGOR's step down when overloaded: admit 5 % less.</summary>
    public const double StepDown = 0.05;

    /// <summary>DAGOR's step up when not: admit 1 % more.</summary>
    public const double StepUp = 0.01;

    /// <summary>The least threshold: every critical rank is admitted.</summary>
    public const int Floor = AdmissionPriority.CohortCount - 1;

    private const double NewIntervalWeight = 0.25;

    private readonly double[] _arrivals = new double[AdmissionPriority.RankCount];
    private int _calmIntervals;
    private double _granted = -1;

    /// <summary>The lowest-priority rank admitted: requests that rank after it are shed.</summary>
    public int Rank { get; private set; } = AdmissionPriority.RankCount - 1;

    /// <summary>Moves the threshold after an interval.</summary>
    /// <param name="arrivals">Arrivals of each rank in the interval; read, not kept.</param>
    /// <param name="granted">Requests the limit granted in the interval.</param>
    /// <param name="overloaded">Whether requests were refused for want of room (not of priority), or a standing queue existed.</param>
    /// <returns>The new threshold.</returns>
    public int Update(ReadOnlySpan<int> arrivals, long granted, bool overloaded)
    {
        double total = 0, through = 0;
        for (int rank = 0; rank < _arrivals.Length; rank++)
        {
            double smoothed = (_arrivals[rank] * (1 - NewIntervalWeight)) + (arrivals[rank] * NewIntervalWeight);
            _arrivals[rank] = smoothed;
            total += smoothed;
            if (rank <= Rank)
            {
                through += smoothed;
            }
        }

        if (overloaded)
        {
            _calmIntervals = 0;
        }
        else if (++_calmIntervals > 30)
        {
            _calmIntervals = 30;
        }

        if (!overloaded && Rank == _arrivals.Length - 1)
        {
            return Rank;
        }

        _granted = _granted < 0 ? granted : (_granted * (1 - NewIntervalWeight)) + (granted * NewIntervalWeight);
        double admit = overloaded
            ? Math.Min(through, _granted) * (1 - StepDown)
            : (through * (1 + StepUp)) + 1;
        if (admit >= total)
        {
            Rank = _arrivals.Length - 1;
            return Rank;
        }

        double sum = 0;
        int threshold = Floor;
        for (int rank = 0; rank < _arrivals.Length; rank++)
        {
            sum += _arrivals[rank];
            if (sum > admit)
            {
                break;
            }

            threshold = rank;
        }

        if (!overloaded)
        {
            // However little arrives, the threshold rises by a number of ranks that doubles with each calm interval,
            // so it is back at the top within a second of the overload ending (a 1 % rise of a trickle would take minutes).
            threshold = Math.Max(threshold, Rank + (2 << Math.Min(_calmIntervals, 8)));
        }

        Rank = Math.Clamp(threshold, Floor, _arrivals.Length - 1);
        return Rank;
    }
}
