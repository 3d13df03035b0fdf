using Backpressure.Queues;

namespace Backpressure.AspNetCore.WebSockets;

/// <summary>
/// How long a connection's queue has been full, and waiting for room in it no longer than the grace period
/// allows: the slow-peer rule that <see cref="WebSocketOutbox"/> (a client that does not read) and
/// <see cref="WebSocketInbox{T}"/> (a client that keeps sending while told to pause) share. The queue's flow
/// signal marks when it filled (<see cref="FlowSignal.Pause"/>) and when it drained to its low watermark.
/// </summary>
internal sealed class FullQueueGrace(TimeSpan grace, TimeProvider time)
{
    private long _fullSince;

    public TimeSpan Period => grace;

    /// <summary>Whether the queue has been full for the whole grace period by now.</summary>
    public bool IsOver
    {
        get
        {
            long since = Volatile.Read(ref _fullSince);
            return since != 0 && time.GetElapsedTime(since) >= grace;
        }
    }

    /// <summary>The queue's flow callback: a pause starts the clock, a resume stops it.</summary>
    public void OnFlowChanged(FlowSignal signal) =>
        Volatile.Write(ref _fullSince, signal == FlowSignal.Pause ? Math.Max(1, time.GetTimestamp()) : 0);

    /// <summary>Starts the grace period again while the queue stays full: its peer made progress.</summary>
    public void Restart()
    {
        if (Volatile.Read(ref _fullSince) != 0)
        {
            Volatile.Write(ref _fullSince, Math.Max(1, time.GetTimestamp()));
        }
    }

    /// <summary>
    /// Enqueues <paramref name="item"/>, waiting for room (under <see cref="OverflowPolicy.Block"/>) at most until
    /// the grace period ends. Null when it ended with the queue still full: the peer is too slow.
    /// <see cref="EnqueueOutcome.Closed"/> when <paramref name="closed"/> was cancelled meanwhile.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public async ValueTask<EnqueueOutcome?> EnqueueAsync<T>(
        BoundedMessageQueue<T> queue, T item, CancellationToken closed, CancellationToken cancellationToken)
    {
        EnqueueOutcome outcome = queue.TryEnqueue(item);
        if (outcome != EnqueueOutcome.Full)
        {
            return outcome;
        }

        while (true)
        {
            long fullSince = Volatile.Read(ref _fullSince);
            using var graceOver = new CancellationTokenSource(Remaining(fullSince), time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, graceOver.Token);
            try
            {
                return await queue.EnqueueAsync(item, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (closed.IsCancellationRequested)
                {
                    return EnqueueOutcome.Closed;
                }

                // The timer, not a fresh clock reading, says the grace is over: timers count coarser time than
                // the clock and may fire a millisecond or so early, and a clock check then would leave the peer
                // connected while the caller, told it is closed, stopped. Only a queue that drained and filled
                // again while we waited starts a new grace period.
                if (fullSince != 0 && Volatile.Read(ref _fullSince) == fullSince)
                {
                    return null;
                }
            }
        }
    }

    private TimeSpan Remaining(long fullSince)
    {
        TimeSpan remaining = fullSince == 0 ? grace : grace - time.GetElapsedTime(fullSince);
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.FromTicks(1);
    }
}
