using Backpressure.AspNetCore.WebSockets;
using Backpressure.Queues;

namespace Backpressure.Server.WebSockets;

/// <summary>
/// The limits within which a client may choose its WebSocket session's settings by query string,
/// bound from <c>Backpressure:WebSockets</c> and validated at start-up.
/// </summary>
public sealed class WebSocketEndpointOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Backpressure:WebSockets";

    /// <summary>The overflow policy when the query names none: <c>drop-oldest</c>, <c>drop-newest</c> or <c>block</c>.</summary>
    public string DefaultPolicy { get; set; } = "drop-oldest";

    /// <summary>The queue length (messages) when the query gives no <c>queue</c>.</summary>
    public int DefaultQueueLength { get; set; } = 50;

    /// <summary>The longest queue (messages) a client may ask for.</summary>
    public int MaxQueueLength { get; set; } = 1000;

    /// <summary>The hard byte limit of every connection's queue, whatever its length.</summary>
    public long MaxQueueBytes { get; set; } = 1024 * 1024;

    /// <summary><c>/ws/feed</c>: messages per second per subscriber when the query gives no <c>rate</c>.</summary>
    public int DefaultFeedRate { get; set; } = 100;

    /// <summary><c>/ws/feed</c>: the highest rate (messages per second) a subscriber may ask for.</summary>
    public int MaxFeedRate { get; set; } = 50_000;

    /// <summary><c>/ws/feed</c>: payload bytes per message when the query gives no <c>size</c>.</summary>
    public int DefaultPayloadBytes { get; set; } = 64;

    /// <summary><c>/ws/feed</c>: the largest payload (bytes) a subscriber may ask for.</summary>
    public int MaxPayloadBytes { get; set; } = 16 * 1024;

    /// <summary><c>/ws/ingest</c>: messages the server processes per second when the query gives no <c>rate</c>.</summary>
    public int DefaultIngestRate { get; set; } = 50;

    /// <summary><c>/ws/ingest</c>: the highest processing rate (messages per second) a client may ask for.</summary>
    public int MaxIngestRate { get; set; } = 10_000;

    /// <summary>The most <see cref="MaxMessageBytes"/> may be: 64 MiB. A session's read buffer grows to the largest message it was sent, so the limit is what one client can make the server hold.</summary>
    public const int MaxMessageBytesCeiling = 64 * 1024 * 1024;

    /// <summary>The most <see cref="MaxQueueBytes"/> may be: 1 GiB per connection.</summary>
    public const long MaxQueueBytesCeiling = 1024L * 1024 * 1024;

    /// <summary>The largest message (bytes) a client may send; a larger one closes the connection with 1009.</summary>
    public int MaxMessageBytes { get; set; } = 16 * 1024;

    /// <summary>How long a queue may stay full before its client is disconnected with 1008.</summary>
    public TimeSpan SlowClientGracePeriod { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a session may pass no message either way (none received from the client, none delivered to it) before it is closed with 1001; 5 minutes by default.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most sessions each endpoint holds at once; one more is answered 503 before the upgrade. Default: 10,000.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>
    /// The most sessions of one endpoint one client (remote address) may hold, so that one client cannot take them all;
    /// 0 (the default) for a quarter of <see cref="MaxConnections"/>. One more is answered 503, without <c>Retry-After</c>:
    /// when a session will end is its client's choice, which no estimate knows.
    /// </summary>
    public int MaxConnectionsPerClient { get; set; }

    /// <summary>The per-client share in force: <see cref="MaxConnectionsPerClient"/>, or the quarter it defaults to.</summary>
    public int EffectiveConnectionsPerClient => MaxConnectionsPerClient > 0 ? MaxConnectionsPerClient : Math.Max(1, MaxConnections / 4);

    /// <summary>
    /// The operating system's send buffer of each WebSocket connection (HTTP/1.1), in bytes; 0 leaves it to the
    /// operating system, which on Linux grows it to 4 MiB for a client that stopped reading. Default: 64 KiB (Linux
    /// doubles it), so that a stalled client is found after a bounded number of bytes, at the cost of at most about
    /// 128 KiB per round trip to one client.
    /// </summary>
    public int SocketSendBufferBytes { get; set; } = 64 * 1024;

    /// <summary>The most <see cref="SocketSendBufferBytes"/> may be: 16 MiB.</summary>
    public const int SocketSendBufferBytesCeiling = 16 * 1024 * 1024;

    /// <summary>How long a close may take before the connection is aborted.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The fill (0–1] at which a queue signals pause.</summary>
    public double HighWatermark { get; set; } = 0.8;

    /// <summary>The fill [0–1) at which a paused queue signals resume.</summary>
    public double LowWatermark { get; set; } = 0.4;

    /// <summary>A connection's queue of <paramref name="capacity"/> messages under these limits, sharing the server's <paramref name="budget"/>.</summary>
    public BoundedMessageQueueOptions QueueOptions(int capacity, OverflowPolicy policy, QueueMemoryBudget? budget) => new()
    {
        Capacity = capacity,
        MaxBytes = MaxQueueBytes,
        Budget = budget,
        OverflowPolicy = policy,
        HighWatermark = HighWatermark,
        LowWatermark = LowWatermark,
    };

    /// <summary>A connection's outgoing queue and slow-client rule under these limits.</summary>
    public WebSocketOutboxOptions OutboxOptions(int capacity, OverflowPolicy policy, QueueMemoryBudget? budget) => new()
    {
        Queue = QueueOptions(capacity, policy, budget),
        SlowConsumerGracePeriod = SlowClientGracePeriod,
        CloseTimeout = CloseTimeout,
    };

    /// <summary>A connection's incoming queue and slow-client rule under these limits (the flow signals are the defaults).</summary>
    public WebSocketInboxOptions InboxOptions(int capacity, OverflowPolicy policy, QueueMemoryBudget? budget) => new()
    {
        Queue = QueueOptions(capacity, policy, budget),
        SlowProducerGracePeriod = SlowClientGracePeriod,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property that is out of range.</summary>
    public void Validate()
    {
        if (!WebSocketSessionRequest.TryParsePolicy(DefaultPolicy, out _))
        {
            throw new ArgumentException($"{nameof(DefaultPolicy)} must be drop-oldest, drop-newest or block (was '{DefaultPolicy}').", nameof(DefaultPolicy));
        }

        Positive(MaxQueueLength, nameof(MaxQueueLength));
        InRange(DefaultQueueLength, 1, MaxQueueLength, nameof(DefaultQueueLength));
        InRange(MaxQueueBytes, 1, MaxQueueBytesCeiling, nameof(MaxQueueBytes));
        Positive(MaxFeedRate, nameof(MaxFeedRate));
        InRange(DefaultFeedRate, 1, MaxFeedRate, nameof(DefaultFeedRate));
        Positive(MaxPayloadBytes, nameof(MaxPayloadBytes));
        InRange(DefaultPayloadBytes, 0, MaxPayloadBytes, nameof(DefaultPayloadBytes));
        Positive(MaxIngestRate, nameof(MaxIngestRate));
        InRange(DefaultIngestRate, 1, MaxIngestRate, nameof(DefaultIngestRate));
        InRange(MaxConnections, 1, 1_000_000, nameof(MaxConnections));
        InRange(MaxConnectionsPerClient, 0, MaxConnections, nameof(MaxConnectionsPerClient));
        InRange(MaxMessageBytes, 1, Math.Min(MaxQueueBytes, MaxMessageBytesCeiling), nameof(MaxMessageBytes));
        // Below a page the kernel rounds up anyway; 0 leaves the buffer to the operating system.
        if (SocketSendBufferBytes != 0 && SocketSendBufferBytes is < 4096 or > SocketSendBufferBytesCeiling)
        {
            throw new ArgumentException(
                $"{nameof(SocketSendBufferBytes)} must be 0 (the operating system's choice) or between 4096 and {SocketSendBufferBytesCeiling} (was {SocketSendBufferBytes}).",
                nameof(SocketSendBufferBytes));
        }

        if (SlowClientGracePeriod <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(SlowClientGracePeriod)} must be greater than zero (was {SlowClientGracePeriod}).", nameof(SlowClientGracePeriod));
        }

        if (IdleTimeout < TimeSpan.FromSeconds(1) || IdleTimeout > TimeSpan.FromDays(1))
        {
            throw new ArgumentException($"{nameof(IdleTimeout)} must be between 00:00:01 and 1.00:00:00 (was {IdleTimeout}).", nameof(IdleTimeout));
        }

        if (CloseTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(CloseTimeout)} must be greater than zero (was {CloseTimeout}).", nameof(CloseTimeout));
        }

        if (!(HighWatermark > 0 && HighWatermark <= 1 && LowWatermark >= 0 && LowWatermark < HighWatermark))
        {
            throw new ArgumentException(
                $"{nameof(HighWatermark)} and {nameof(LowWatermark)} must satisfy 0 <= low < high <= 1 (were {HighWatermark} and {LowWatermark}).",
                nameof(HighWatermark));
        }
    }

    private static void Positive(long value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentException($"{name} must be greater than zero (was {value}).", name);
        }
    }

    private static void InRange(long value, long min, long max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentException($"{name} must be between {min} and {max} (was {value}).", name);
        }
    }
}
