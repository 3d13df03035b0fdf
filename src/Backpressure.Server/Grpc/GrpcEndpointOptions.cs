namespace Backpressure.Server.Grpc;

/// <summary>
/// The gRPC endpoint's listener, HTTP/2 flow-control windows and call limits, bound from
/// <c>Backpressure:Grpc</c> and validated at start-up.
/// </summary>
/// <remarks>
/// The windows are the server's receive windows: they bound what a client may send before the
/// server reads it (<c>Upload</c>, <c>Chat</c>). What the server may send before a client reads
/// it is bounded by the client's windows, which the client chooses.
/// </remarks>
public sealed class GrpcEndpointOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Backpressure:Grpc";

    /// <summary>HTTP/2 has no window smaller than this (RFC 9113, section 6.9.2).</summary>
    public const int MinWindowSize = 65_535;

    /// <summary>The envelope of a <c>Subscribe</c> message around its payload, at most: field tags, lengths, seq and timestamp.</summary>
    public const int MessageEnvelopeBytes = 32;

    /// <summary>Where gRPC listens, cleartext HTTP/2 with prior knowledge (h2c): <c>http://HOST:PORT</c>; port 0 picks a free one.</summary>
    public string Url { get; set; } = "http://127.0.0.1:8081";

    /// <summary>Bytes all streams of a connection may send to the server before it reads them. Kestrel's default is 1 MiB.</summary>
    public int InitialConnectionWindowSize { get; set; } = 1024 * 1024;

    /// <summary>Bytes one stream may send to the server before it reads them; at most the connection window. Kestrel's default is 768 KiB.</summary>
    public int InitialStreamWindowSize { get; set; } = 768 * 1024;

    /// <summary>Concurrent streams (calls) a client may open on one connection.</summary>
    public int MaxStreamsPerConnection { get; set; } = 100;

    /// <summary>The largest message, in bytes, received or sent; a larger one ends the call with <c>RESOURCE_EXHAUSTED</c>.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Messages per second the server reads from each <c>Upload</c> and <c>Chat</c> call: deliberately slow, so fast clients meet flow control.</summary>
    public int ConsumeRate { get; set; } = 100;

    /// <summary>The highest rate, in messages per second, a <c>Subscribe</c> call may ask for.</summary>
    public int MaxSubscribeRate { get; set; } = 1_000_000;

    /// <summary>The largest payload a <c>Subscribe</c> call may ask for: what fits in <see cref="MaxMessageBytes"/>.</summary>
    public int MaxPayloadBytes => MaxMessageBytes - MessageEnvelopeBytes;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property that is out of range.</summary>
    public void Validate()
    {
        Listeners.ParseAddress(Url, nameof(Url));
        InRange(InitialConnectionWindowSize, MinWindowSize, int.MaxValue, nameof(InitialConnectionWindowSize));
        InRange(InitialStreamWindowSize, MinWindowSize, InitialConnectionWindowSize, nameof(InitialStreamWindowSize));
        InRange(MaxStreamsPerConnection, 1, int.MaxValue, nameof(MaxStreamsPerConnection));
        InRange(MaxMessageBytes, 1024, 64 * 1024 * 1024, nameof(MaxMessageBytes));
        InRange(ConsumeRate, 1, 1_000_000, nameof(ConsumeRate));
        InRange(MaxSubscribeRate, 1, 10_000_000, nameof(MaxSubscribeRate));
    }

    private static void InRange(long value, long min, long max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentException($"{name} must be between {min} and {max} (was {value}).", name);
        }
    }
}
