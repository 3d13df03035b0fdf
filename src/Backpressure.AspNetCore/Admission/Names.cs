using Backpressure.Admission;

namespace Backpressure.AspNetCore;

/// <summary>The lower-case names of criticalities and shed reasons, as headers and metric tags carry them; one string each, never formatted per request.</summary>
internal static class Names
{
    private static readonly string[] s_criticalities = ["critical", "normal", "sheddable", "batch"];
    private static readonly string[] s_reasons = ["limit_full", "priority", "queue_full", "displaced", "waited_too_long", "deadline"];

    public static string Criticality(Criticality criticality) => s_criticalities[(int)criticality];

    public static string Reason(ShedReason reason) => s_reasons[(int)reason];

    public static IReadOnlyList<string> Criticalities => s_criticalities;

    public static IReadOnlyList<string> Reasons => s_reasons;
}
