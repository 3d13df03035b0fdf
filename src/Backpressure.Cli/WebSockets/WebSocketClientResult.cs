namespace Backpressure.Cli.WebSockets;

/// <summary>What one <c>bp ws</c> client saw.</summary>
internal sealed record WebSocketClientResult
{
    /// <summary>The client's class: <c>fast</c>/<c>slow</c> (feed) or <c>polite</c>/<c>rude</c> (ingest).</summary>
    public required string Class { get; init; }

    /// <summary>Feed messages received.</summary>
    public long Received { get; init; }

    /// <summary>Feed messages missing by sequence number (dropped by the server for this client).</summary>
    public long Gaps { get; init; }

    /// <summary>The last sequence number received.</summary>
    public long LastSeq { get; init; }

    /// <summary>Ingest messages sent.</summary>
    public long Sent { get; init; }

    /// <summary><c>flow.pause</c> events received.</summary>
    public long Pauses { get; init; }

    /// <summary><c>flow.resume</c> events received.</summary>
    public long Resumes { get; init; }

    /// <summary><c>error</c> events received (malformed or dropped messages).</summary>
    public long ErrorEvents { get; init; }

    /// <summary>Ingest: the server's summary, if it sent one: messages it processed.</summary>
    public long? Processed { get; init; }

    /// <summary>Ingest: the server's summary: messages its queue dropped.</summary>
    public long? Dropped { get; init; }

    /// <summary>Whether the server ended the connection before the client did (slow-consumer, too-big, or an abort).</summary>
    public bool Disconnected { get; init; }

    /// <summary>How the connection ended: the close status and reason, <c>aborted</c>, or <c>closed</c>.</summary>
    public string Ending { get; init; } = "";

    /// <summary>A failure to connect or an unexpected error, if any.</summary>
    public string? Error { get; init; }
}
