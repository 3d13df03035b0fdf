using Backpressure.Admission;
using Microsoft.AspNetCore.Builder;

namespace Backpressure.AspNetCore.Admission;

/// <summary>Marks endpoints with the criticality a waiting-room policy sheds them by.</summary>
public static class WaitingRoomEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Gives the endpoints' requests <paramref name="criticality"/> (a checkout <see cref="Criticality.Critical"/>, a
    /// prefetch <see cref="Criticality.Sheddable"/>) unless a trusted criticality header says otherwise; see
    /// <see cref="WaitingRoomPolicyOptions.CriticalityHeader"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="criticality"/> is not defined.</exception>
    public static TBuilder WithCriticality<TBuilder>(this TBuilder builder, Criticality criticality)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!Enum.IsDefined(criticality))
        {
            throw new ArgumentOutOfRangeException(nameof(criticality), criticality, "not a defined Criticality");
        }

        var metadata = new CriticalityMetadata(criticality);
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
