using System.Net.WebSockets;

namespace Backpressure.Server.WebSockets;

/// <summary>Reads whole client messages into one reusable buffer, refusing any longer than the limit.</summary>
internal sealed class WebSocketMessageReader(WebSocket socket, int maxMessageBytes)
{
    private readonly byte[] _buffer = new byte[maxMessageBytes + 1];

    /// <summary>The next message's bytes (valid until the next call); empty with <c>Closed</c> or <c>TooBig</c> set otherwise.</summary>
    public async ValueTask<(ReadOnlyMemory<byte> Message, bool Closed, bool TooBig)> ReceiveAsync(CancellationToken cancellationToken)
    {
        int count = 0;
        while (true)
        {
            if (count == _buffer.Length)
            {
                return (default, false, true);
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
