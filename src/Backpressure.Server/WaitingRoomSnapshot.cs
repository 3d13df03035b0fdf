using Backpressure.Admission;
using Backpressure.AspNetCore;
using Microsoft.AspNetCore.Http;

namespace Backpressure.Server;

/// <summary>A waiting room in <c>/stats</c>: its threshold, its queue, and what it did with each criticality.</summary>
/// <param name="Threshold">The least important priority admitted now, as <c>criticality/cohort</c> (<c>batch/127</c> sheds nothing by priority).</param>
/// <param name="ThresholdRank">The same as a rank from 0 to 511.</param>
/// <param name="Waiting">Requests waiting now.</param>
/// <param name="TargetMilliseconds">The queueing-delay target in force.</param>
/// <param name="ByCriticality">Admitted and shed per criticality since start.</param>
public sealed record WaitingRoomSnapshot(
    string Threshold, int ThresholdRank, int Waiting, double TargetMilliseconds, IReadOnlyDictionary<string, AdmissionCounts> ByCriticality)
{
    internal static WaitingRoomSnapshot From(BackpressurePolicy policy)
    {
        var room = (WaitingRoom<HttpContext>)policy.Limiter;
        AdmissionPriority threshold = room.Threshold;
        return new WaitingRoomSnapshot(
            $"{threshold.Criticality.ToString().ToLowerInvariant()}/{threshold.Cohort}",
            threshold.Rank,
            room.QueuedCount,
            room.Target.TotalMilliseconds,
            Enum.GetValues<Criticality>().ToDictionary(c => c.ToString().ToLowerInvariant(), room.GetCounts));
    }
}
