namespace Backpressure.Admission;

/// <summary>
/// Where a request stands when a service must shed: its <see cref="Admission.Criticality"/>, and within it
/// a stable <see cref="Cohort"/> (a hash of who sent it), so that when only part of a level must be shed,
/// the same users are shed from one moment to the next rather than everyone at random, as in WeChat's
/// DAGOR (business and user priority) and Uber's Cinnamon (tier and cohort).
/// </summary>
/// <remarks>
/// Priorities are ordered by <see cref="Rank"/>: every request of a level ranks before every request
/// of a less critical one, and within a level the lower cohort first. The order of cohorts is arbitrary
/// but fixed; only its stability matters.
/// </remarks>
public readonly record struct AdmissionPriority
{
    /// <summary>How many cohorts each criticality is divided into.</summary>
    public const int CohortCount = 128;

    /// <summary>How many ranks there are: <see cref="CohortCount"/> for each criticality.</summary>
    public const int RankCount = 4 * CohortCount;

    /// <summary>Creates a priority.</summary>
    /// <param name="criticality">The request's level.</param>
    /// <param name="cohort">Its cohort, from 0 to <see cref="CohortCount"/> − 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">The criticality is not defined or the cohort out of range.</exception>
    public AdmissionPriority(Criticality criticality, int cohort)
    {
        if (!Enum.IsDefined(criticality))
        {
            throw new ArgumentOutOfRangeException(nameof(criticality), criticality, "not a defined Criticality");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(cohort);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(cohort, CohortCount);
        Criticality = criticality;
        Cohort = cohort;
    }

    /// <summary>The request's level.</summary>
    public Criticality Criticality { get; }

    /// <summary>The request's cohort within its level, from 0 to <see cref="CohortCount"/> − 1.</summary>
    public int Cohort { get; }

    /// <summary>The priority as one number from 0 (the most important) to <see cref="RankCount"/> − 1 (the first shed).</summary>
    public int Rank => ((int)Criticality * CohortCount) + Cohort;

    /// <summary>The priority of a rank (the inverse of <see cref="Rank"/>).</summary>
    public static AdmissionPriority FromRank(int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, RankCount);
        return new AdmissionPriority((Criticality)(rank / CohortCount), rank % CohortCount);
    }

    /// <summary>
    /// The cohort of a key: FNV-1a over its characters, folded to <see cref="CohortCount"/>. Stable across
    /// processes and runs, unlike <see cref="string.GetHashCode()"/>, so every instance of a service sheds the same users.
    /// </summary>
    public static int CohortOf(ReadOnlySpan<char> key)
    {
        uint hash = 2166136261;
        foreach (char c in key)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)((hash ^ (hash >> 16)) % CohortCount);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Criticality}/{Cohort}";
}
