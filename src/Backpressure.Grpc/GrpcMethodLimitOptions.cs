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

    /// <summary>
    /// Concurrent calls of one method one client may hold, so that one client holding long-lived streams cannot take
    /// a method's whole limit; 0 (the default) for a quarter of <see cref="MaxConcurrentCallsPerMethod"/>, at least 1.
    /// One more is refused at once with <c>RESOURCE_EXHAUSTED</c>. A client is the peer's IP address, or the value of
    /// <see cref="ClientIdMetadata"/>.
    /// </summary>
    public int MaxConcurrentCallsPerClient { get; set; }

    /// <summary>
    /// A request metadata key naming the client, such as <c>x-client-id</c>, that shares are counted by instead of the
    /// peer's address. Set it only behind a gateway that authenticates clients and sets the key: a client that chooses
    /// it freely escapes its share by changing it. Unset by default.
    /// </summary>
    public string? ClientIdMetadata { get; set; }

    /// <summary>The most (method, client) shares tracked at once; the least recently used are forgotten beyond it. Default: 10,000.</summary>
    public int MaxClients { get; set; } = 10_000;

    /// <summary>The per-client share in force: <see cref="MaxConcurrentCallsPerClient"/>, or the quarter it defaults to.</summary>
    public int EffectiveCallsPerClient => MaxConcurrentCallsPerClient > 0 ? MaxConcurrentCallsPerClient : Math.Max(1, MaxConcurrentCallsPerMethod / 4);

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

        if (MaxConcurrentCallsPerClient < 0 || MaxConcurrentCallsPerClient > MaxConcurrentCallsPerMethod)
        {
            throw new ArgumentException(
                $"{nameof(MaxConcurrentCallsPerClient)} must be between 0 (a quarter of {nameof(MaxConcurrentCallsPerMethod)}) and {MaxConcurrentCallsPerMethod} (was {MaxConcurrentCallsPerClient}).",
                nameof(MaxConcurrentCallsPerClient));
        }

        if (ClientIdMetadata is not null && (ClientIdMetadata.Length == 0 || ClientIdMetadata.Any(c => c is < '!' or > '~' or ':' || char.IsUpper(c))))
        {
            throw new ArgumentException($"{nameof(ClientIdMetadata)} must be a lower-case metadata key (was '{ClientIdMetadata}').", nameof(ClientIdMetadata));
        }

        if (MaxClients is < 1 or > 10_000_000)
        {
            throw new ArgumentException($"{nameof(MaxClients)} must be between 1 and 10000000 (was {MaxClients}).", nameof(MaxClients));
        }
    }
}
