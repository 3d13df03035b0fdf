using Backpressure.Admission;

namespace Backpressure;

/// <summary>
/// Shared source, compiled into each adapter that configures a waiting room (HTTP, gRPC): the checks their options have
/// in common, with messages that name the property as the adapter's options spell it.
/// </summary>
internal static class WaitingRoomOptionChecks
{
    /// <summary>Validates the room's own options, naming a bad one as <c>Room.NAME</c>.</summary>
    public static void Room(WaitingRoomOptions? room)
    {
        ArgumentNullException.ThrowIfNull(room, nameof(Room));
        try
        {
            room.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{nameof(Room)}.{e.Message}", $"{nameof(Room)}.{e.ParamName}", e);
        }
    }

    /// <summary>Checks that <paramref name="criticality"/> is one of the four levels.</summary>
    public static void Defined(Criticality criticality, string name)
    {
        if (!Enum.IsDefined(criticality))
        {
            throw new ArgumentException($"{name} must be Critical, Normal, Sheddable or Batch (was {criticality}).", name);
        }
    }
}
