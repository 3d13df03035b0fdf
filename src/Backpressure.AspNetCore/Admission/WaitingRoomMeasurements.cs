using System.Diagnostics.Metrics;
using Backpressure.Admission;

namespace Backpressure.AspNetCore.Admission;

/// <summary>What the <c>backpressure.admission.*</c> instruments read of one waiting room, with its tags made once.</summary>
internal sealed class WaitingRoomMeasurements(
    string policy, Func<Criticality, ShedReason, long> shed, Func<Criticality, long> admitted, Func<int> waiting, Func<int> threshold)
{
    private readonly KeyValuePair<string, object?> _policy = new(BackpressureMeter.PolicyTag, policy);

    public IEnumerable<Measurement<long>> Decisions()
    {
        foreach (Criticality criticality in Enum.GetValues<Criticality>())
        {
            var level = new KeyValuePair<string, object?>(BackpressureMeter.CriticalityTag, AdmissionNames.Criticality(criticality));
            yield return new Measurement<long>(admitted(criticality), _policy, level, new(BackpressureMeter.OutcomeTag, "admitted"));
            foreach (ShedReason reason in Enum.GetValues<ShedReason>())
            {
                yield return new Measurement<long>(
                    shed(criticality, reason), _policy, level, new(BackpressureMeter.OutcomeTag, "shed"), new(BackpressureMeter.ShedReasonTag, AdmissionNames.Reason(reason)));
            }
        }
    }

    public Measurement<long> Waiting() => new(waiting(), _policy);

    public Measurement<int> Threshold() => new(threshold(), _policy);
}
