namespace Backpressure.Cli.Grpc;

/// <summary>What <c>bp grpc</c> runs: one kind of call, on how many streams, for how long.</summary>
internal sealed record GrpcRunSettings
{
    /// <summary>The server's gRPC address, <c>http://host:port</c> (cleartext HTTP/2).</summary>
    public required Uri Address { get; init; }

    /// <summary><c>Subscribe</c> (the server sends) or <c>Upload</c> (the client sends).</summary>
    public required GrpcCall Call { get; init; }

    /// <summary>Concurrent calls, each on a connection of its own when one connection's stream limit is reached.</summary>
    public int Streams { get; init; } = 1;

    /// <summary>Payload bytes per message.</summary>
    public int PayloadBytes { get; init; } = 16 * 1024;

    /// <summary>Messages per second per stream (Subscribe: the server's rate; Upload: ours); 0 as fast as flow control allows.</summary>
    public int Rate { get; init; }

    /// <summary>Subscribe: the pause after reading each message, which makes a slow reader.</summary>
    public TimeSpan ReadDelay { get; init; }

    /// <summary>Our HTTP/2 receive window per stream in bytes (Subscribe's flow control); null leaves .NET's 64 KiB default.</summary>
    public int? WindowBytes { get; init; }

    /// <summary>How long each call runs before the client ends it.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Upload: how long to wait, after the client stops writing, for the server to read the rest and answer.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
