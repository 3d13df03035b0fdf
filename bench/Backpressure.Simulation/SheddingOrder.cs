using Backpressure.Admission;

namespace Backpressure.Simulation;

/// <summary>
/// Whether shedding followed priority: inversions (a request shed while a less critical one was admitted in the
/// same 100 ms), and for each criticality partly shed, how much the set of cohorts shed in one second overlaps the
/// set shed in the next.
/// </summary>
/// <param name="Decisions">Admissions and sheds in the phase.</param>
/// <param name="Inversions">Sheds of a request in a 100 ms in which a request of a less critical level was admitted.</param>
/// <param name="CohortOverlap">
/// For each level of which 5–95 % was shed: the mean, over consecutive seconds, of |A ∩ B| / |A ∪ B| where A and B
/// are the cohorts most of whose requests were shed in each second.
/// </param>
public sealed record SheddingOrder(long Decisions, long Inversions, IReadOnlyDictionary<Criticality, double> CohortOverlap)
{
    /// <summary>One decision: when, for whom, and whether admitted.</summary>
    public readonly record struct Decision(long Time, Criticality Criticality, int Cohort, bool Admitted);

    /// <summary>Inversions as a share of decisions.</summary>
    public double InversionShare => Decisions == 0 ? 0 : Inversions / (double)Decisions;

    /// <summary>Computes the figures from the decisions of a phase.</summary>
    public static SheddingOrder From(IReadOnlyList<Decision> decisions)
    {
        const long Bucket = TimeSpan.TicksPerMillisecond * 100;
        long inversions = 0;
        foreach (IGrouping<long, Decision> bucket in decisions.GroupBy(d => d.Time / Bucket))
        {
            int leastCriticalAdmitted = bucket.Where(d => d.Admitted).Select(d => (int)d.Criticality).DefaultIfEmpty(-1).Max();
            inversions += bucket.Count(d => !d.Admitted && (int)d.Criticality < leastCriticalAdmitted);
        }

        var overlap = new Dictionary<Criticality, double>();
        foreach (IGrouping<Criticality, Decision> level in decisions.GroupBy(d => d.Criticality))
        {
            double shedShare = level.Count(d => !d.Admitted) / (double)level.Count();
            if (shedShare is < 0.05 or > 0.95)
            {
                continue;
            }

            List<HashSet<int>> shedCohorts = [.. level
                .GroupBy(d => d.Time / TimeSpan.TicksPerSecond)
                .OrderBy(second => second.Key)
                .Select(second => second.GroupBy(d => d.Cohort)
                    .Where(cohort => cohort.Count(d => !d.Admitted) * 2 > cohort.Count())
                    .Select(cohort => cohort.Key)
                    .ToHashSet())];
            var ratios = new List<double>();
            for (int i = 1; i < shedCohorts.Count; i++)
            {
                int union = shedCohorts[i - 1].Union(shedCohorts[i]).Count();
                if (union > 0)
                {
                    ratios.Add(shedCohorts[i - 1].Intersect(shedCohorts[i]).Count() / (double)union);
                }
            }

            if (ratios.Count > 0)
            {
                overlap[level.Key] = ratios.Average();
            }
        }

        return new SheddingOrder(decisions.Count, inversions, overlap);
    }
}
