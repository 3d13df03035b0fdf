using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace Backpressure.Server.WebSockets;

/// <summary>
/// Makes one <c>/ws/feed</c> subscriber's messages, <c>{"seq":N,"sent_at":T,"payload":"xx…"}</c>, each in two parts: a
/// small head of its own (the sequence number and the time) and the payload, encoded once per session and shared by all
/// its messages. A message is joined into one buffer only when it is sent (<see cref="AspNetCore.WebSockets.WebSocketOutbox"/>),
/// so a message that is queued and then dropped costs its head, not a copy of the payload: 500 subscribers that stopped
/// reading otherwise make the server copy and collect hundreds of megabytes a second of payloads nobody reads, and
/// the ones who do read wait for it.
/// </summary>
internal sealed class FeedMessages
{
    // {"seq":<19 digits>,"sent_at":<20 characters> fits with room to spare.
    private const int HeadCapacity = 64;

    private readonly byte[] _tail;
    // The shared part's place in a message depends on the head's length, so there is one per length seen (a few at most).
    private readonly Part?[] _tails = new Part?[HeadCapacity + 1];

    public FeedMessages(int payloadBytes) =>
        _tail = Encoding.UTF8.GetBytes($",\"payload\":\"{new string('x', payloadBytes)}\"}}");

    public ReadOnlySequence<byte> Create(long seq, long sentAt)
    {
        Span<byte> head = stackalloc byte[HeadCapacity];
        Utf8.TryWrite(head, CultureInfo.InvariantCulture, $"{{\"seq\":{seq},\"sent_at\":{sentAt}", out int written);
        Part tail = _tails[written] ??= new Part(_tail, written, next: null);
        var first = new Part(head[..written].ToArray(), 0, tail);
        return new ReadOnlySequence<byte>(first, 0, tail, _tail.Length);
    }

    private sealed class Part : ReadOnlySequenceSegment<byte>
    {
        public Part(ReadOnlyMemory<byte> memory, long runningIndex, Part? next)
        {
            Memory = memory;
            RunningIndex = runningIndex;
            Next = next;
        }
    }
}
