namespace Backpressure.Admission;

/// <summary>
/// The overload controller of a waiting room: every tick (100 ms), from the arrivals of each priority rank, what the
/// limit granted and how loaded the service was, it moves the lowest rank admitted. Reads no clock and takes no lock;
/// its caller runs it on one thread at a time.
/// </summary>
/// <remarks>
/// <para>
/// The steady rule is WeChat's DAGOR (Zhou et al., "Overload Control for Scaling WeChat Microservices", SoCC 2018,
/// section 4.2): keep a histogram of arrivals by priority, and once a window (DAGOR's is one second) set the threshold
/// where the arrivals at or above it add up to what should be admitted next: <c>1 − α</c> of what was admitted if the
/// window saw overload, <c>1 + β</c> (and at least one rank more) if not, with DAGOR's α = 5 % and β = 1 %. At that pace the cut between
/// cohorts moves by a few cohorts a second, so the same users stay shed.
/// </para>
/// <para>
/// Two fast paths of ours, taken at once on any tick, for the moves a one-second window makes too slowly. A severe
/// overload (the limit granted under half of what the threshold let through) is cut to what was granted, in one step
/// instead of twenty 5 % ones (no less: the queue takes up the noise, and the window's rule trims what is left). And calm with capacity to spare (the limit granted under 80 % of the most it has lately)
/// raises the threshold by a number of ranks that doubles each calm tick (4, 8, 16, ...), so a threshold cut deep by a
/// spike is back at the top within about a second of its end however little then arrives (a 1 % rise of a trickle
/// would take minutes). The histogram and the count granted are smoothed over ticks (each new tick weighs a quarter).
/// Critical requests are never below the threshold.
/// </para>
/// </remarks>
internal sealed class AdmissionThreshold
{
    /// <summary>DAGOR's step down when overloaded: admit 5 % less.</summary>
    public const double StepDown = 0.05;

    /// <summary>DAGOR's step up when calm: admit 1 % more.</summary>
    public const double StepUp = 0.01;

    /// <summary>Ours: the step up after a window in which nobody waited at all, which says more room is likely than a window with a queue.</summary>
    public const double CalmStepUp = 0.015;

    /// <summary>The least threshold: every critical rank is admitted.</summary>
    public const int Floor = AdmissionPriority.CohortCount - 1;

    /// <summary>Ticks in DAGOR's one-second window, at the waiting room's 100 ms tick.</summary>
    public const int TicksPerWindow = 10;

    private const double NewTickWeight = 0.25;

    // Fewer arrivals than this in a window (or a tenth of it in a tick) say too little to move the threshold on: a handful of
    // requests, one of them refused, is no measure of overload, and cutting on it could shed a whole criticality.
    private const int LeastArrivalsPerWindow = 100;

    // The most granted lately forgets 1 % a tick (half in about 7 s); grants under 80 % of it mean room to spare.
    private const double PeakDecay = 0.99;
    private const double SpareCapacity = 0.8;

    private readonly double[] _arrivals = new double[AdmissionPriority.RankCount];
    private double _granted = -1;
    private double _peakGranted;
    private int _calmTicks;
    private int _ticksInWindow;
    private long _windowArrivals;
    private OverloadSignal _windowSignal;

    /// <summary>The lowest-priority rank admitted: requests that rank after it are shed.</summary>
    public int Rank { get; private set; } = AdmissionPriority.RankCount - 1;

    /// <summary>Moves the threshold after a tick.</summary>
    /// <param name="arrivals">Arrivals of each rank in the tick; read, not kept.</param>
    /// <param name="granted">Requests the limit granted in the tick.</param>
    /// <param name="signal">How loaded the service was: overloaded (refusals for want of room, or a standing queue), busy (a queue absorbing a burst) or calm.</param>
    /// <returns>The new threshold.</returns>
    public int Update(ReadOnlySpan<int> arrivals, long granted, OverloadSignal signal)
    {
        // The first tick is taken whole, for the histogram as for the count granted, so that they start on the same footing.
        bool first = _granted < 0;
        double total = 0, through = 0;
        for (int rank = 0; rank < _arrivals.Length; rank++)
        {
            double smoothed = first ? arrivals[rank] : (_arrivals[rank] * (1 - NewTickWeight)) + (arrivals[rank] * NewTickWeight);
            _arrivals[rank] = smoothed;
            total += smoothed;
            if (rank <= Rank)
            {
                through += smoothed;
            }
        }

        _granted = first ? granted : (_granted * (1 - NewTickWeight)) + (granted * NewTickWeight);
        _peakGranted = Math.Max(_granted, _peakGranted * PeakDecay);
        _calmTicks = signal == OverloadSignal.Calm ? Math.Min(_calmTicks + 1, 30) : 0;
        _windowSignal = (OverloadSignal)Math.Max((int)_windowSignal, (int)signal);
        bool windowEnds = ++_ticksInWindow >= TicksPerWindow;
        int tickArrivals = 0;
        foreach (int count in arrivals)
        {
            tickArrivals += count;
        }

        _windowArrivals += tickArrivals;
        if (signal == OverloadSignal.Overloaded && _granted < through / 2 && tickArrivals >= LeastArrivalsPerWindow / TicksPerWindow)
        {
            return Cut(_granted, total);
        }

        if (signal == OverloadSignal.Calm && _granted < SpareCapacity * _peakGranted && Rank < _arrivals.Length - 1)
        {
            Rank = Math.Min(_arrivals.Length - 1, Rank + (2 << Math.Min(_calmTicks, 8)));
            return Rank;
        }

        if (!windowEnds)
        {
            return Rank;
        }

        OverloadSignal window = _windowSignal;
        long windowArrivals = _windowArrivals;
        _ticksInWindow = 0;
        _windowArrivals = 0;
        _windowSignal = OverloadSignal.Calm;
        if (windowArrivals < LeastArrivalsPerWindow)
        {
            return Rank;
        }

        return window switch
        {
            OverloadSignal.Overloaded => Cut(through * (1 - StepDown), total),
            _ when Rank < _arrivals.Length - 1 => Math.Max(Rank + 1, Cut((through * (1 + (window == OverloadSignal.Calm ? CalmStepUp : StepUp))) + 1, total)) is int raised
                ? Rank = Math.Min(raised, _arrivals.Length - 1)
                : Rank,
            _ => Rank,
        };
    }

    /// <summary>Sets the threshold where the smoothed arrivals at or above it add up to <paramref name="admit"/>, never below <see cref="Floor"/>.</summary>
    private int Cut(double admit, double total)
    {
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

        Rank = Math.Max(Floor, threshold);
        return Rank;
    }
}
