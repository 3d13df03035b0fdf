using Backpressure.Admission;

namespace Backpressure.AspNetCore.Admission;

/// <summary>
/// A waiting-room policy: the queue in front of another policy's limiter, and where a request's criticality,
/// cohort and deadline come from. Bound from configuration (for example <c>Backpressure:WaitingRooms:NAME</c>)
/// and validated when the host starts.
/// </summary>
public sealed class WaitingRoomPolicyOptions
{
    /// <summary>The queue's bounds and discipline.</summary>
    public WaitingRoomOptions Room { get; set; } = new();

    /// <summary>The criticality of a request that neither its endpoint (<c>WithCriticality</c>) nor a trusted header gives one. Default <see cref="Criticality.Normal"/>.</summary>
    public Criticality DefaultCriticality { get; set; } = Criticality.Normal;

    /// <summary>
    /// A request header naming the request's criticality (<c>critical</c>, <c>normal</c>, <c>sheddable</c>,
    /// <c>batch</c>), which then wins over the endpoint's; a request with another value is answered 400. Null (the
    /// default): no header is read. Set it only when a gateway you trust sets the header: a client that may choose
    /// its own criticality will choose <c>critical</c>.
    /// </summary>
    public string? CriticalityHeader { get; set; }

    /// <summary>
    /// A request header whose value is the request's cohort key (a user or tenant id set by a gateway you trust).
    /// Null (the default): the cohort is the client's address, as <see cref="RequestPartitioner.RemoteAddress"/>
    /// keys it.
    /// </summary>
    public string? CohortHeader { get; set; }

    /// <summary>
    /// A request header giving, in whole milliseconds, how long the caller still waits for an answer (its
    /// deadline): a request that cannot start in time to finish by then is refused at once. A value that is not a
    /// number from 1 to 86,400,000 is answered 400. Null (the default): no header is read.
    /// </summary>
    public string? DeadlineHeader { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        WaitingRoomOptionChecks.Room(Room);
        WaitingRoomOptionChecks.Defined(DefaultCriticality, nameof(DefaultCriticality));

        CheckHeader(CriticalityHeader, nameof(CriticalityHeader));
        CheckHeader(CohortHeader, nameof(CohortHeader));
        CheckHeader(DeadlineHeader, nameof(DeadlineHeader));
    }

    private static void CheckHeader(string? header, string name)
    {
        if (header is not null && (header.Length == 0 || !header.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            throw new ArgumentException($"{name} must be a header name of letters, digits, '-' and '_' (was '{header}').", name);
        }
    }
}
