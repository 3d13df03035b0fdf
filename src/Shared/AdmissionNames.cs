using Backpressure.Admission;

namespace Backpressure;

/// <summary>
/// Shared source, compiled into each adapter (HTTP, gRPC): the lower-case names of criticalities and shed reasons, as
/// headers, metadata and metric tags carry them; one string each, never formatted per request.
/// </summary>
internal static class AdmissionNames
{
    private static readonly string[] s_criticalities = ["critical", "normal", "sheddable", "batch"];
    private static readonly string[] s_reasons = ["limit_full", "priority", "queue_full", "displaced", "waited_too_long", "deadline"];
    private static readonly string[] s_sheds = [.. s_criticalities.SelectMany(c => s_reasons.Select(r => $"{c}; reason={r}"))];

    public static string Criticality(Criticality criticality) => s_criticalities[(int)criticality];

    public static string Reason(ShedReason reason) => s_reasons[(int)reason];

    /// <summary>The criticality a header or metadata value names, case-insensitively; null when it names none.</summary>
    public static Criticality? ParseCriticality(string? value)
    {
        for (int i = 0; value is not null && i < s_criticalities.Length; i++)
        {
            if (string.Equals(value, s_criticalities[i], StringComparison.OrdinalIgnoreCase))
            {
                return (Criticality)i;
            }
        }

        return null;
    }

    /// <summary>The value of a refusal's shed header or trailer: <c>sheddable; reason=priority</c>.</summary>
    public static string Shed(Criticality criticality, ShedReason reason) => s_sheds[((int)criticality * s_reasons.Length) + (int)reason];
}
