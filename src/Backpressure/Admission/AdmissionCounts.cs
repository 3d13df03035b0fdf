namespace Backpressure.Admission;

/// <summary>What a waiting room did with the requests of one criticality since it was created.</summary>
/// <param name="Admitted">Requests granted a permit, at once or after waiting.</param>
/// <param name="Shed">Requests refused, for any <see cref="ShedReason"/>.</param>
/// <param name="ShedByPriority">Of <paramref name="Shed"/>, those refused because they ranked below the admission threshold.</param>
public readonly record struct AdmissionCounts(long Admitted, long Shed, long ShedByPriority);
