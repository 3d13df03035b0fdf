using System.Net.WebSockets;
using Backpressure.AspNetCore.WebSockets;
using Backpressure.Queues;

namespace Backpressure.Server.WebSockets;

/// <summary>
/// <c>GET /ws/feed</c>: one subscriber of a ticker-like feed. The server publishes numbered
/// messages at the requested rate into the subscriber's own bounded queue; the queue's policy
/// decides what a slow subscriber loses, and one that stays full past the grace period is cut off.
/// Each subscriber has its own producer, so under <c>block</c> only that subscriber's feed waits.
/// </summary>
internal sealed class FeedSession(WebSocket socket, WebSocketSessionRequest request, WebSocketEndpointOptions limits, TimeProvider time, QueueMemoryBudget budget, CancellationToken stopping)
{
    public const string Endpoint = "feed";

    // While a subscriber's queue is paused, or its socket has taken nothing for as long as the memory budget takes to
    // count a queue as stalled, one message in this many is made. The socket's wait is needed besides the pause: under
    // the budget's pressure a stalled queue may have been emptied for a reader's benefit, and so be far from paused.
    private const int StalledFraction = 10;

    public async Task RunAsync(WebSocketSessions sessions, CancellationToken aborted)
    {
        using var outbox = new WebSocketOutbox(socket, limits.OutboxOptions(request.QueueLength, request.Policy, budget), time);
        long id = sessions.Open(Endpoint, request.Policy, outbox.GetStatistics, () => outbox.CurrentSendWait);
        // The server is stopping: 1001 tells the client to reconnect, to another instance.
        using CancellationTokenRegistration goingAway = stopping.Register(() => outbox.Close(WebSocketCloseStatus.EndpointUnavailable, WebSocketClosing.GoingAway, drain: false));
        long received = 0;
        using var idle = new IdleWatch(
            limits.IdleTimeout, time, () => outbox.GetStatistics().Delivered + Volatile.Read(ref received),
            () => outbox.Close(WebSocketCloseStatus.EndpointUnavailable, WebSocketClosing.Idle(limits.IdleTimeout), drain: false));
        bool tooBig = false;
        try
        {
            Task sending = outbox.RunAsync(aborted);
            Task<bool> receiving = DiscardClientMessagesAsync(outbox, () => Interlocked.Increment(ref received), aborted);
            try
            {
                await PublishAsync(outbox);
            }
            catch (OperationCanceledException)
            {
            }

            await sending;
            tooBig = await WebSocketClosing.AwaitPeerAsync(socket, receiving, limits.CloseTimeout, time);
        }
        finally
        {
            sessions.Close(id, outbox.DisconnectedAsSlow, tooBig);
        }
    }

    private async Task PublishAsync(WebSocketOutbox outbox)
    {
        CancellationToken closing = outbox.Closing;
        var messages = new FeedMessages(request.PayloadBytes);
        // A feed is live data: after a stall (a blocked queue, a paused process) the schedule slips instead of
        // publishing the whole backlog at once, so no burst exceeds a tenth of a second's messages. Without this,
        // a one-second hiccup of the whole server would flood every queue, fast subscribers' included.
        var pacer = new Pacer(request.Rate, timeProvider: time);
        long seq = 0;
        while (!closing.IsCancellationRequested)
        {
            for (long due = pacer.TakeDue(); due > 0; due--)
            {
                seq++;
                // A subscriber whose queue is paused, or whose socket stopped taking messages, is not keeping up: under a drop policy nearly all it would be sent
                // is dropped unread, so only every tenth message is made until it catches up (its numbering skips the
                // rest, as drops would). Five hundred stalled subscribers otherwise cost the server a core making
                // messages nobody reads, at the expense of those who do; the tenth keeps the newest ones fresh.
                if (request.Policy != OverflowPolicy.Block && seq % StalledFraction != 0 && (outbox.IsPaused || outbox.CurrentSendWait > QueueMemoryBudget.StalledAfter))
                {
                    continue;
                }

                if (await outbox.SendAsync(messages.Create(seq, time.GetUtcNow().ToUnixTimeMilliseconds()), closing) == EnqueueOutcome.Closed)
                {
                    return;
                }
            }

            await pacer.NapAsync(closing);
        }
    }

    private async Task<bool> DiscardClientMessagesAsync(WebSocketOutbox outbox, Action onMessage, CancellationToken aborted)
    {
        var reader = new WebSocketMessageReader(socket, limits.MaxMessageBytes);
        try
        {
            while (true)
            {
                var (_, closed, tooBig) = await reader.ReceiveAsync(aborted);
                if (closed)
                {
                    outbox.Close(WebSocketCloseStatus.NormalClosure, "bye", drain: false);
                    return false;
                }

                if (tooBig)
                {
                    outbox.Close(WebSocketCloseStatus.MessageTooBig, $"message over {limits.MaxMessageBytes} bytes", drain: false);
                    return true;
                }

                onMessage();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            outbox.Close(WebSocketCloseStatus.EndpointUnavailable, "connection lost", drain: false);
            return false;
        }
    }
}
