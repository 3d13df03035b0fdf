using Backpressure.Admission;

namespace Backpressure.Grpc;

/// <summary>
/// A waiting room in front of a gRPC server's calls: the queue, and where a call's criticality, cohort and deadline
/// come from. Validated when the host starts.
/// </summary>
public sealed class GrpcWaitingRoomOptions
{
    /// <summary>The queue's bounds and discipline.</summary>
    public WaitingRoomOptions Room { get; set; } = new();

    /// <summary>The criticality of a call that neither its method (<see cref="MethodCriticality"/>) nor trusted metadata gives one. Default <see cref="Criticality.Normal"/>.</summary>
    public Criticality DefaultCriticality { get; set; } = Criticality.Normal;

    /// <summary>The criticality of each method, by full name (<c>/package.Service/Method</c>), such as a health check's <see cref="Criticality.Critical"/>.</summary>
    public Dictionary<string, Criticality> MethodCriticality { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// A metadata key naming the call's criticality (<c>critical</c>, <c>normal</c>, <c>sheddable</c>, <c>batch</c>), which
    /// then wins over the method's; a call with another value fails with <c>INVALID_ARGUMENT</c>. Null (the default): not
    /// read. Set it only when a proxy you trust sets it.
    /// </summary>
    public string? CriticalityKey { get; set; }

    /// <summary>A metadata key whose value is the call's cohort key (a user or tenant id set by a trusted proxy); null (the default): the peer's address.</summary>
    public string? CohortKey { get; set; }

    /// <summary>Refuse at once a call whose deadline (<c>grpc-timeout</c>) leaves less than the expected service time. Default true.</summary>
    public bool HonourDeadline { get; set; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        WaitingRoomOptionChecks.Room(Room);
        WaitingRoomOptionChecks.Defined(DefaultCriticality, nameof(DefaultCriticality));

        foreach ((string method, Criticality criticality) in MethodCriticality)
        {
            if (!method.StartsWith('/') || !Enum.IsDefined(criticality))
            {
                throw new ArgumentException($"{nameof(MethodCriticality)} must map full method names such as /package.Service/Method to a defined Criticality (was '{method}' → {criticality}).", nameof(MethodCriticality));
            }
        }

        CheckKey(CriticalityKey, nameof(CriticalityKey));
        CheckKey(CohortKey, nameof(CohortKey));
    }

    private static void CheckKey(string? key, string name)
    {
        // gRPC metadata keys are lower case ASCII letters, digits, '-', '_' and '.'; binary keys (-bin) carry no text.
        if (key is not null && (key.Length == 0 || key.EndsWith("-bin", StringComparison.Ordinal)
            || !key.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.')))
        {
            throw new ArgumentException($"{name} must be a text metadata key of lower-case letters, digits, '-', '_' and '.' (was '{key}').", name);
        }
    }
}
