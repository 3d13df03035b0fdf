using System.Net.Sockets;
using System.Net.WebSockets;

namespace Backpressure.Server.Tests;

/// <summary>Clients that misbehave on purpose, shared by the WebSocket tests.</summary>
internal static class TestClients
{
    /// <summary>
    /// A client that will never read, with a small receive buffer. Loopback autotuning would otherwise let
    /// the kernel buffer megabytes for it before the server's queue sees anything, and how long those take
    /// to fill depends on how fast a loaded machine runs the producer, not on the slow-consumer rule.
    /// </summary>
    public static async Task<ClientWebSocket> ConnectNeverReadingAsync(Uri url)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                // Set before connecting, so the window the client advertises is small from the first segment.
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 16 * 1024 };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new ClientWebSocket();
        await client.ConnectAsync(url, new HttpMessageInvoker(handler), CancellationToken.None);
        return client;
    }
}
