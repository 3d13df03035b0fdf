using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Backpressure.AspNetCore.WebSockets;
using Backpressure.Queues;

namespace Backpressure.Server.WebSockets;

/// <summary>
/// <c>GET /ws/ingest</c>: a client sends JSON messages (<c>{"seq":N,...}</c>) and the server
/// processes them at a bounded rate from a bounded queue. Crossing the queue's high watermark
/// sends <c>{"event":"flow.pause","reason":"buffer full"}</c>; falling to the low one sends
/// <c>{"event":"flow.resume"}</c>. A client still sending after the queue has been paused for
/// the grace period is disconnected with 1008; when the client closes, the server finishes what it
/// accepted and sends a summary event before closing.
/// </summary>
internal sealed class IngestSession(WebSocket socket, WebSocketSessionRequest request, WebSocketEndpointOptions limits, TimeProvider time, QueueMemoryBudget budget, CancellationToken stopping)
{
    public const string Endpoint = "ingest";

    private static readonly byte[] MalformedEvent =
        "{\"event\":\"error\",\"reason\":\"malformed message: expected a JSON object with an integer seq\"}"u8.ToArray();

    private long _received;
    private long _processed;
    private long _malformed;
    private long _gaps;

    public async Task RunAsync(WebSocketSessions sessions, CancellationToken aborted)
    {
        // Events to the client: few and small; if a client lets 256 pile up, it is not reading them anyway.
        using var control = new WebSocketOutbox(socket, limits.OutboxOptions(256, OverflowPolicy.DropNewest, budget), time);
        using var inbox = new WebSocketInbox<IngestMessage>(control, limits.InboxOptions(request.QueueLength, request.Policy, budget), m => m.Size, time);
        long id = sessions.Open(Endpoint, request.Policy, inbox.GetStatistics, () => control.CurrentSendWait);
        using var idle = new IdleWatch(
            limits.IdleTimeout, time, () => Volatile.Read(ref _received) + Volatile.Read(ref _malformed) + control.GetStatistics().Delivered,
            () => control.Close(WebSocketCloseStatus.EndpointUnavailable, WebSocketClosing.Idle(limits.IdleTimeout), drain: false));
        bool slow = false;
        bool tooBig = false;
        using var stopProcessing = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        // The server is stopping: what is queued is not processed, and 1001 tells the client to reconnect, to another instance.
        using CancellationTokenRegistration goingAway = stopping.Register(() =>
        {
            stopProcessing.Cancel();
            control.Close(WebSocketCloseStatus.EndpointUnavailable, WebSocketClosing.GoingAway, drain: false);
        });
        try
        {
            Task sending = control.RunAsync(aborted);
            Task processing = ProcessAsync(inbox, stopProcessing.Token);
            Ending ending = await ReceiveAsync(inbox, control, aborted);
            inbox.Complete();
            slow = ending == Ending.Slow;
            tooBig = ending == Ending.TooBig;
            if (ending == Ending.ClientClosed && !stopping.IsCancellationRequested)
            {
                await processing;
                control.TrySend(Summary(inbox.GetStatistics()));
                control.Close(WebSocketCloseStatus.NormalClosure, "done", drain: true);
            }
            else
            {
                await stopProcessing.CancelAsync();
                await processing;
            }

            await sending;
        }
        finally
        {
            sessions.Close(id, slow, tooBig);
        }
    }

    private async Task<Ending> ReceiveAsync(WebSocketInbox<IngestMessage> inbox, WebSocketOutbox control, CancellationToken aborted)
    {
        var reader = new WebSocketMessageReader(socket, limits.MaxMessageBytes);
        try
        {
            while (true)
            {
                var (message, closed, tooBig) = await reader.ReceiveAsync(aborted);
                if (closed)
                {
                    return Ending.ClientClosed;
                }

                if (tooBig)
                {
                    control.Close(WebSocketCloseStatus.MessageTooBig, $"message over {limits.MaxMessageBytes} bytes", drain: false);
                    return Ending.TooBig;
                }

                if (!TryReadSeq(message.Span, out long seq))
                {
                    _malformed++;
                    control.TrySend(MalformedEvent);
                    continue;
                }

                EnqueueOutcome outcome = await inbox.AcceptAsync(new IngestMessage(seq, message.Length), aborted);
                if (outcome == EnqueueOutcome.Closed)
                {
                    return inbox.DisconnectedAsSlow ? Ending.Slow : Ending.Lost;
                }

                _received++;

                if (outcome == EnqueueOutcome.Dropped && request.Policy == OverflowPolicy.DropNewest)
                {
                    control.TrySend(Encoding.UTF8.GetBytes(string.Create(
                        CultureInfo.InvariantCulture, $"{{\"event\":\"error\",\"reason\":\"queue full: message dropped\",\"seq\":{seq}}}")));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            control.Close(WebSocketCloseStatus.EndpointUnavailable, "connection lost", drain: false);
            return Ending.Lost;
        }
    }

    private async Task ProcessAsync(WebSocketInbox<IngestMessage> inbox, CancellationToken cancellationToken)
    {
        TimeSpan interval = TimeSpan.FromSeconds(1.0 / request.Rate);
        long next = time.GetTimestamp();
        long lastSeq = 0;
        try
        {
            await foreach (IngestMessage message in inbox.ReadAllAsync(cancellationToken))
            {
                // At most Rate per second: each message's turn is one interval after the previous one's (or now, after idling).
                long now = time.GetTimestamp();
                next = Math.Max(next, now);
                TimeSpan wait = time.GetElapsedTime(now, next);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, cancellationToken);
                }

                next += (long)(interval.TotalSeconds * time.TimestampFrequency);
                if (lastSeq != 0 && message.Seq > lastSeq + 1)
                {
                    _gaps += message.Seq - lastSeq - 1;
                }

                lastSeq = message.Seq;
                Interlocked.Increment(ref _processed);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private byte[] Summary(MessageQueueStatistics stats) => Encoding.UTF8.GetBytes(string.Create(
        CultureInfo.InvariantCulture,
        $"{{\"event\":\"summary\",\"received\":{_received},\"processed\":{Interlocked.Read(ref _processed)},\"dropped\":{stats.Dropped},\"malformed\":{_malformed},\"gaps\":{_gaps},\"pauses\":{stats.Pauses},\"resumes\":{stats.Resumes}}}"));

    // Validates the whole message with the reader alone: a JsonDocument per message would allocate for nothing.
    private static bool TryReadSeq(ReadOnlySpan<byte> message, out long seq)
    {
        seq = 0;
        bool found = false;
        try
        {
            var reader = new Utf8JsonReader(message);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("seq"u8))
                {
                    reader.Read();
                    found = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out seq);
                }
            }

            return found;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private enum Ending
    {
        ClientClosed,
        TooBig,
        Slow,
        Lost,
    }

    private readonly record struct IngestMessage(long Seq, int Size);
}
