using Backpressure.Admission;

namespace Backpressure.AspNetCore.Admission;

/// <summary>
/// Endpoint metadata: the <see cref="Backpressure.Admission.Criticality"/> of the endpoint's requests, for a waiting-room
/// policy to shed by (added with <see cref="WaitingRoomEndpointConventionBuilderExtensions.WithCriticality{TBuilder}"/>).
/// </summary>
/// <param name="criticality">The endpoint's criticality.</param>
public sealed class CriticalityMetadata(Criticality criticality)
{
    /// <summary>The endpoint's criticality.</summary>
    public Criticality Criticality { get; } = criticality;
}
