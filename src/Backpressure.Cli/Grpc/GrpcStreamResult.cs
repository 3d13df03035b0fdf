namespace Backpressure.Cli.Grpc;

/// <summary>What one call saw.</summary>
internal sealed record GrpcStreamResult
{
    /// <summary>The gRPC status it ended with; <c>Cancelled</c> is the normal end of a Subscribe that the client ends at its deadline.</summary>
    public required string Status { get; init; }

    /// <summary>The status detail, or the error, when the call failed.</summary>
    public string? Detail { get; init; }

    /// <summary>A refusal's <c>grpc-retry-pushback-ms</c>.</summary>
    public long? PushbackMilliseconds { get; init; }

    /// <summary>Messages the client read (Subscribe) or wrote (Upload).</summary>
    public long Messages { get; init; }

    /// <summary>Payload bytes of those messages.</summary>
    public long Bytes { get; init; }

    /// <summary>Sequence numbers skipped (Subscribe, as read by us; Upload, as read by the server).</summary>
    public long Gaps { get; init; }

    /// <summary>How long the sender's writes waited on flow control: the server's (Subscribe, as its last message said) or ours (Upload).</summary>
    public TimeSpan SenderWaited { get; init; }

    /// <summary>Upload: messages the server says it read, from its summary; null when no summary came.</summary>
    public long? ServerReceived { get; init; }

    /// <summary>Subscribe: median age of a message when we read it, in milliseconds: time spent in flight and in windows.</summary>
    public double? AgeP50Milliseconds { get; init; }

    /// <summary>Subscribe: 99th percentile of that age.</summary>
    public double? AgeP99Milliseconds { get; init; }

    /// <summary>How long the call ran.</summary>
    public TimeSpan Elapsed { get; init; }
}
