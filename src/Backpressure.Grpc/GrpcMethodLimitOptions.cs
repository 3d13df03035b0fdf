namespace Backpressure.Grpc;

/// <summary>The concurrency limit every gRPC method gets from <c>AddBackpressure</c>. Validated at start-up.</summary>
public sealed class GrpcMethodLimitOptions
{
    /// <summary>
    /// Concurrent calls per method, from 1 to 1,000,000; one more is refused at once with
    /// <c>RESOURCE_EXHAUSTED</c> and <c>grpc-retry-pushback-ms</c>. A streaming call holds its permit for the
    /// whole stream. Default: 100.
    /// </summary>
    public int MaxConcurrentCallsPerMethod { get; set; } = 100;

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (MaxConcurrentCallsPerMethod is < 1 or > 1_000_000)
        {
            throw new ArgumentException(
                $"{nameof(MaxConcurrentCallsPerMethod)} must be between 1 and 1000000 (was {MaxConcurrentCallsPerMethod}).",
                nameof(MaxConcurrentCallsPerMethod));
        }
    }
}
