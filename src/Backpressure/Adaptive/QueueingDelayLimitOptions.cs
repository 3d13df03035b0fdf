namespace Backpressure.Adaptive;

/// <summary>
/// Options for <see cref="QueueingDelayLimit"/>. Plain settable properties with the defaults shown;
/// <see cref="Validate"/> runs once, when the algorithm is created.
/// </summary>
public sealed class QueueingDelayLimitOptions
{
    /// <summary>The limit before any sample has been seen. At least <see cref="MinLimit"/>. Default: 4 (slow start doubles it while there is room).</summary>
    public int InitialLimit { get; set; } = 4;

    /// <summary>The lowest the limit goes. At least 1. Default: 1.</summary>
    public int MinLimit { get; set; } = 1;

    /// <summary>The highest the limit goes. Default: 1000.</summary>
    public int MaxLimit { get; set; } = 1000;

    /// <summary>
    /// How long the limit is judged on the samples it has before it moves, when fewer than
    /// <see cref="SamplesPerUpdate"/> arrive sooner. Greater than zero. Default: 100 ms.
    /// A decision only counts permits granted since the limit last moved, so the interval is never
    /// shorter than one round trip of the work: what a change did is seen before the next change.
    /// </summary>
    public TimeSpan UpdateInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>After this many samples the limit is judged at once, without waiting out <see cref="UpdateInterval"/>. At least <see cref="MinSamplesPerUpdate"/>. Default: 100.</summary>
    public int SamplesPerUpdate { get; set; } = 100;

    /// <summary>
    /// The fewest samples a decision rests on, or the limit's worth when the limit is lower (a round trip of
    /// samples: at a limit of 1, waiting for five would take five round trips per decision). At least 1. Default: 5.
    /// </summary>
    public int MinSamplesPerUpdate { get; set; } = 5;

    /// <summary>
    /// How far the mean latency may rise above the no-load latency and still count as "no queue"
    /// (0.2 = 20 %): below it the limit grows. Between 0 and <see cref="QueueingThreshold"/>. Default: 0.2,
    /// about where throughput stops rising with concurrency for work whose latency varies (a
    /// coefficient of variation near 0.5): a little queue keeps every worker busy.
    /// </summary>
    public double GrowthTolerance { get; set; } = 0.2;

    /// <summary>
    /// How far the mean latency must rise above the no-load latency, while the limit is what stops
    /// admissions, to count as a queue the limit lets form (0.25 = 25 %): the limit is then cut in
    /// proportion. Greater than <see cref="GrowthTolerance"/>. Default: 0.4.
    /// </summary>
    public double QueueingThreshold { get; set; } = 0.4;

    /// <summary>
    /// How much queue still counts as no queue for a small service, in square roots of the permits it
    /// has in flight at no load (<c>n</c>, from Little's law): 1.13 lets a service with 16 in flight at
    /// no load keep 4.5 queued (28 % rather than <see cref="GrowthTolerance"/>'s 20 %) before it stops
    /// growing. What is in flight fluctuates like a count of random arrivals, by about its square root,
    /// so keeping every worker busy takes a queue that grows as <c>√n</c>, not in proportion to <c>n</c>
    /// (Halfin and Whitt's square-root staffing; the router-buffer sizing rule of Appenzeller et al.).
    /// Where <c>VariabilityAllowance/√n</c> exceeds <see cref="GrowthTolerance"/>, both it and
    /// <see cref="QueueingThreshold"/> widen by that factor; above (VariabilityAllowance/GrowthTolerance)²
    /// in flight (32 with the defaults) the proportional thresholds stand. 0 turns it off, as does a
    /// <see cref="GrowthTolerance"/> of 0. At least 0 and at most 100. Default: 1.13 (0.2 × √32).
    /// </summary>
    public double VariabilityAllowance { get; set; } = 1.13;

    /// <summary>
    /// The limit stays within this many times the most permits recently in flight (failsafe-go's
    /// <c>maxLimitFactor</c>), so it cannot float upward while the application, not the limit, is the
    /// bottleneck; the headroom lets in-flight work grow at once when a dependency slows down.
    /// At least 1. Default: 4.
    /// </summary>
    public double HeadroomFactor { get; set; } = 4;

    /// <summary>
    /// How long the no-load latency and the most permits in flight are remembered. The no-load
    /// latency is the lowest smoothed latency of this window, learned again from live traffic as the
    /// window moves: it is never re-measured by shedding on purpose. Greater than zero. Default: 10 s.
    /// </summary>
    public TimeSpan BaselineWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A reading of a resource the work uses up, from 0 (none used) to 1 (exhausted), such as
    /// <see cref="GcHeapUsage.Read"/>; read once per decision. Null (the default) for none.
    /// </summary>
    public Func<double>? ResourceUsage { get; set; }

    /// <summary>
    /// The reading of <see cref="ResourceUsage"/> to stay under: above it the limit is cut in
    /// proportion (by at most 30 % a decision), and it does not grow within 10 % below it. Between 0
    /// and 1 (exclusive of 0). Default: 0.85.
    /// </summary>
    public double ResourceUsageLimit { get; set; } = 0.85;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        Check(MinLimit >= 1, nameof(MinLimit), $"must be at least 1 (was {MinLimit})");
        Check(MaxLimit >= MinLimit, nameof(MaxLimit), $"must be at least MinLimit, {MinLimit} (was {MaxLimit})");
        Check(InitialLimit >= MinLimit && InitialLimit <= MaxLimit, nameof(InitialLimit),
            $"must be between MinLimit and MaxLimit, {MinLimit} and {MaxLimit} (was {InitialLimit})");
        Check(UpdateInterval > TimeSpan.Zero && UpdateInterval <= TimeSpan.FromMinutes(1), nameof(UpdateInterval),
            $"must be greater than zero and at most a minute (was {UpdateInterval})");
        Check(MinSamplesPerUpdate >= 1, nameof(MinSamplesPerUpdate), $"must be at least 1 (was {MinSamplesPerUpdate})");
        Check(SamplesPerUpdate >= MinSamplesPerUpdate && SamplesPerUpdate <= 1_000_000, nameof(SamplesPerUpdate),
            $"must be between MinSamplesPerUpdate ({MinSamplesPerUpdate}) and 1000000 (was {SamplesPerUpdate})");
        Check(GrowthTolerance >= 0 && GrowthTolerance < QueueingThreshold, nameof(GrowthTolerance),
            $"must be at least 0 and below QueueingThreshold, {QueueingThreshold} (was {GrowthTolerance})");
        Check(QueueingThreshold <= 100, nameof(QueueingThreshold), $"must be at most 100 (was {QueueingThreshold})");
        Check(VariabilityAllowance >= 0 && VariabilityAllowance <= 100, nameof(VariabilityAllowance),
            $"must be between 0 and 100 (was {VariabilityAllowance})");
        Check(HeadroomFactor >= 1 && HeadroomFactor <= 1000, nameof(HeadroomFactor), $"must be between 1 and 1000 (was {HeadroomFactor})");
        Check(BaselineWindow > TimeSpan.Zero && BaselineWindow <= TimeSpan.FromHours(1), nameof(BaselineWindow),
            $"must be greater than zero and at most an hour (was {BaselineWindow})");
        Check(ResourceUsageLimit > 0 && ResourceUsageLimit <= 1, nameof(ResourceUsageLimit),
            $"must be greater than 0 and at most 1 (was {ResourceUsageLimit})");
    }

    private static void Check(bool valid, string name, string rule)
    {
        if (!valid)
        {
            throw new ArgumentException($"{name} {rule}.", name);
        }
    }
}
