using Backpressure.Admission;

namespace Backpressure.Simulation;

/// <summary>
/// One simulated experiment: open-loop Poisson arrivals at <see cref="OfferedRate"/>, a service
/// whose shape changes at set times, optional stop-the-world pauses, clients that give up after
/// <see cref="ClientTimeout"/>, and phases reported apart.
/// </summary>
public sealed class Scenario
{
    /// <summary>A short name, such as <c>S1</c>.</summary>
    public required string Name { get; init; }

    /// <summary>One sentence on what it tests.</summary>
    public required string Description { get; init; }

    /// <summary>How long it runs, in simulated seconds.</summary>
    public required double Duration { get; init; }

    /// <summary>Offered requests per second at a time in seconds.</summary>
    public required Func<double, double> OfferedRate { get; init; }

    /// <summary>The service's shape from each time on, in order; the first at time 0.</summary>
    public required IReadOnlyList<(double At, ServiceShape Shape)> Shapes { get; init; }

    /// <summary>Stop-the-world pauses: (start, length), in seconds.</summary>
    public IReadOnlyList<(double At, double Length)> Pauses { get; init; } = [];

    /// <summary>The phases reported apart.</summary>
    public required IReadOnlyList<Phase> Phases { get; init; }

    /// <summary>A client gives up on its request after this long; the server then abandons the work (as a cancelled request does).</summary>
    public TimeSpan ClientTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A completed request counts toward goodput when it took at most this long.</summary>
    public required TimeSpan Slo { get; init; }

    /// <summary>
    /// The criticality mix of requests (shares summing to 1), each request's user drawn from <see cref="Users"/>
    /// (its cohort); empty for requests that are all <see cref="Criticality.Normal"/> and reported together.
    /// </summary>
    public IReadOnlyList<(Criticality Criticality, double Share)> Mix { get; init; } = [];

    /// <summary>
    /// Kinds of request with costs of their own (shares summing to 1), reported apart; empty for one kind whose
    /// costs are the service shape's.
    /// </summary>
    public IReadOnlyList<RequestClass> Classes { get; init; } = [];

    /// <summary>How many distinct users send requests: the cohorts a waiting room sheds by.</summary>
    public int Users { get; init; } = 10_000;

    /// <summary>Whether requests carry their client timeout as a deadline (as gRPC's <c>grpc-timeout</c> does).</summary>
    public bool SendDeadlines { get; init; }

    /// <summary>
    /// How many times a client retries a call that was refused (429/503) or timed out; 0 for none. With retries the
    /// arrivals are distinct calls, each attempt a request to the server.
    /// </summary>
    public int Retries { get; init; }

    /// <summary>Treat arrivals as client calls (counted, with goodput per call) even with no retries, for a baseline.</summary>
    public bool Calls { get; init; }

    /// <summary>The mean pause before a retry (drawn uniformly from half to one and a half times it).</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>With retries: a call counts toward goodput when it succeeded within this long of its first attempt.</summary>
    public TimeSpan CallSlo { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Seeds the arrival and service-time streams, which are the same for every contender.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>The shape in force at a time.</summary>
    public ServiceShape ShapeAt(double time)
    {
        ServiceShape shape = Shapes[0].Shape;
        foreach ((double at, ServiceShape next) in Shapes)
        {
            if (at <= time)
            {
                shape = next;
            }
        }

        return shape;
    }
}
