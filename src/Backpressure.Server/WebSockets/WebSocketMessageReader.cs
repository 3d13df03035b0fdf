using System.Net.WebSockets;

namespace Backpressure.Server.WebSockets;

/// <summary>
/// Reads whole client messages into one reusable buffer, refusing any longer than the limit. The buffer starts
/// small and doubles as messages need it, so a generous limit costs memory only for the clients that use it.
/// </summary>
internal sealed class WebSocketMessageReader(WebSocket socket, int maxMessageBytes)
{
    private const int InitialBufferBytes = 4096;

    // One byte over the limit, so that a message that fills it is known to be too long without reading it all.
    private readonly int _most = checked(maxMessageBytes + 1);
    private byte[] _buffer = new byte[Math.Min(InitialBufferBytes, maxMessageBytes + 1)];

    /// <summary>The next message's bytes (valid until the next call); empty with <c>Closed</c> or <c>TooBig</c> set otherwise.</summary>
    public async ValueTask<(ReadOnlyMemory<byte> Message, bool Closed, bool TooBig)> ReceiveAsync(CancellationToken cancellationToken)
    {
        int count = 0;
        while (true)
        {
            if (count == _buffer.Length)
            {
                if (count == _most)
                {
                    return (default, false, true);
                }

                Array.Resize(ref _buffer, (int)Math.Min(_most, 2L * _buffer.Length));
            }

            ValueWebSocketReceiveResult result = await socket.ReceiveAsync(_buffer.AsMemory(count), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (default, true, false);
            }

            count += result.Count;
            if (result.EndOfMessage)
            {
                return count > maxMessageBytes ? (default, false, true) : (_buffer.AsMemory(0, count), false, false);
            }
        }
    }
}
