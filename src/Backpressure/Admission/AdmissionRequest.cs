namespace Backpressure.Admission;

/// <summary>What a <see cref="WaitingRoom{TResource}"/> needs to know of a request: its priority and how long its caller will wait.</summary>
/// <param name="Priority">Where the request stands when the service must shed.</param>
/// <param name="Deadline">How long from now the caller still waits for an answer (gRPC's <c>grpc-timeout</c>, a deadline header); null when unknown.</param>
public readonly record struct AdmissionRequest(AdmissionPriority Priority, TimeSpan? Deadline = null);
