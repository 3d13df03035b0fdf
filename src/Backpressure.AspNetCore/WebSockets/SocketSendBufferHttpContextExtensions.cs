using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore.WebSockets;

/// <summary>Bounds the operating system's send buffer of the connection under a request, for WebSocket sessions.</summary>
/// <remarks>
/// A <see cref="WebSocketOutbox"/> sees a client that stopped reading only once the socket refuses more bytes, and Linux
/// grows a connection's send buffer up to <c>net.ipv4.tcp_wmem</c>'s maximum, 4 MiB by default, while the peer's window
/// is still open. Until then every stalled client costs the server up to 4 MiB of kernel memory outside any budget, and
/// the server the CPU to write it (500 never-reading clients measured 1.35 GiB in send queues and a core for seconds,
/// while the clients that did read lost messages). A fixed size turns the autotuning off for that socket: a stalled
/// client is found after a bounded number of bytes. The cost is throughput over long round trips: a connection carries
/// at most about the buffer per round trip (128 KiB every 50 ms is 2.6 MB/s). Kestrel's own response buffer
/// (<c>KestrelServerLimits.MaxResponseBufferSize</c>, 64 KiB by default) comes on top.
/// ASP.NET Core has no per-connection setting for it; the socket is reached through <see cref="IConnectionSocketFeature"/>.
/// </remarks>
public static class SocketSendBufferHttpContextExtensions
{
    /// <summary>
    /// Sets the send buffer (<c>SO_SNDBUF</c>) of the socket under <paramref name="context"/> to <paramref name="bytes"/>
    /// (Linux doubles the value it is given, for its bookkeeping). Only for HTTP/1.x, where the connection is the
    /// request's alone: an HTTP/2 connection carries other streams too. Call it before accepting the WebSocket.
    /// </summary>
    /// <returns>Whether the buffer was set: false for HTTP/2 and HTTP/3, for transports without a socket (in-memory
    /// test servers, named pipes), and when the socket refused or is gone.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is not positive.</exception>
    public static bool TryLimitSocketSendBuffer(this HttpContext context, int bytes)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        if (!HttpProtocol.IsHttp11(context.Request.Protocol) && !HttpProtocol.IsHttp10(context.Request.Protocol))
        {
            return false;
        }

        if (context.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
        {
            return false;
        }

        try
        {
            socket.SendBufferSize = bytes;
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }
}
