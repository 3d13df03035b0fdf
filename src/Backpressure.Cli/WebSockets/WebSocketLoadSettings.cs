namespace Backpressure.Cli.WebSockets;

/// <summary>How <c>bp ws</c> runs.</summary>
internal sealed record WebSocketLoadSettings
{
    /// <summary>The WebSocket URL (<c>ws://</c> or <c>wss://</c>), query string included.</summary>
    public required Uri Url { get; init; }

    /// <summary>Whether the clients send (<c>/ws/ingest</c>) rather than receive (<c>/ws/feed</c>).</summary>
    public bool Ingest { get; init; }

    /// <summary>How many clients connect.</summary>
    public int Clients { get; init; } = 10;

    /// <summary>Feed: how many of the clients are slow readers. Ingest: how many ignore <c>flow.pause</c>.</summary>
    public int Slow { get; init; }

    /// <summary>Feed: how long a slow client waits after each message it reads.</summary>
    public TimeSpan ReadDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Ingest: messages per second each client sends while not paused; 0 for as fast as it can.</summary>
    public int SendRate { get; init; } = 200;

    /// <summary>Ingest: payload bytes per message.</summary>
    public int PayloadBytes { get; init; } = 64;

    /// <summary>How long the clients run before they close.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a client waits for the server's close (and, for ingest, its summary) after closing.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
