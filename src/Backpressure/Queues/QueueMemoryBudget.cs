namespace Backpressure.Queues;

/// <summary>
/// One byte budget shared by many per-client queues (and anything else that holds bytes for one client), so that
/// their sum is bounded, not only each of them: 500 clients that never read, each allowed a 1 MiB queue, would
/// otherwise hold 500 MiB, and the sum is whatever the clients choose.
/// </summary>
/// <remarks>
/// <para>
/// While the sum is under <see cref="Limit"/>, a queue is bounded only by its own limits. When a message would take the
/// sum past it, the budget is under pressure, and room is made at the expense of the consumers that have gone longest
/// without taking a message: the oldest messages of the drop-oldest queue that delivered least recently are dropped,
/// as many as the sum is over, then the next stalest's. A consumer that keeps reading therefore loses nothing to one
/// that stopped, however small their fair shares: 500 stalled subscribers and 10 reading ones on a 64 MiB budget leave
/// each a share of 128 KiB, which a reader's queue passes on any hiccup of the server (a GC pause, a burst).
/// </para>
/// <para>
/// A stalled queue, and any queue when no drop-oldest queue holds bytes, is held to its fair <see cref="Share"/>, the
/// limit divided among the queues: a queue above its share is full, and its own <see cref="OverflowPolicy"/> decides
/// (drop-oldest trims it to the share, drop-newest refuses, block waits), while from 90 % of the limit its watermarks
/// are measured against the share, so the slow-consumer rule of its owner (the grace period, then a disconnect)
/// applies to it as to any full queue. Queues whose policy forbids dropping what they accepted (block, drop-newest)
/// are never trimmed by others.
/// </para>
/// <para>
/// Only a queue whose consumer is still taking messages takes room from others: one that delivered a message within
/// the last second (<see cref="StalledAfter"/>), while a stalled one holds bytes. A consumer that has taken
/// nothing for longer is stalled, and its queue is held to its share like the stalest one, so that stalled queues
/// signal pause (and their producers can slow down) instead of taking turns emptying each other. A queue that joins
/// counts as having just delivered.
/// </para>
/// <para>
/// Trimming happens right after the message that passed the limit is queued, outside that queue's lock, so the sum
/// can pass the limit by about one message per concurrent producer for that instant. <see cref="PeakUsed"/> reports
/// what it reached. Holders that are not queues (a gRPC call's message in flight) take bytes with
/// <see cref="TryReserve"/>, which refuses what would pass the limit.
/// </para>
/// </remarks>
public sealed class QueueMemoryBudget
{
    // Read under the lock by a trim, which takes no queue's lock meanwhile (it trims after the scan).
    private readonly List<IBudgetMember> _members = [];
    private readonly Lock _membership = new();
    private long _used;
    private long _peakUsed;
    private int _queues;
    private long _pressureEvents;
    private readonly TimeProvider _time;
    // Whether, as the last trim found, a drop-oldest queue holding bytes had delivered nothing for StalledAfter: the
    // room a delivering queue past its share may take from. False before any trim, so every queue is held to its share.
    private bool _stalestStalled;

    /// <summary>Creates a budget of <paramref name="limitBytes"/>.</summary>
    /// <param name="limitBytes">The most bytes the holders may hold between them.</param>
    /// <param name="timeProvider">The clock that tells when each queue last delivered; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limitBytes"/> is not positive.</exception>
    public QueueMemoryBudget(long limitBytes, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitBytes);
        Limit = limitBytes;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>How long a queue's consumer may take nothing and still take room from stalled ones under pressure: one second.</summary>
    public static TimeSpan StalledAfter { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The most bytes the holders may hold between them.</summary>
    public long Limit { get; }

    /// <summary>The bytes held now.</summary>
    public long Used => Volatile.Read(ref _used);

    /// <summary>The most bytes ever held at once.</summary>
    public long PeakUsed => Volatile.Read(ref _peakUsed);

    /// <summary>The queues sharing the budget now.</summary>
    public int Queues => Volatile.Read(ref _queues);

    /// <summary>How many messages found the budget under pressure, and so were held to a share.</summary>
    public long PressureEvents => Volatile.Read(ref _pressureEvents);

    /// <summary>A queue's fair share of the limit under pressure: the limit divided among the queues.</summary>
    public long Share => Limit / Math.Max(1, Queues);

    /// <summary>Takes <paramref name="bytes"/> for a holder that is not a queue; false (and nothing taken) when they would pass the limit.</summary>
    public bool TryReserve(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long used = Volatile.Read(ref _used);
        while (true)
        {
            if (used + bytes > Limit)
            {
                Interlocked.Increment(ref _pressureEvents);
                return false;
            }

            long seen = Interlocked.CompareExchange(ref _used, used + bytes, used);
            if (seen == used)
            {
                RaisePeak(used + bytes);
                return true;
            }

            used = seen;
        }
    }

    /// <summary>Gives back <paramref name="bytes"/> taken with <see cref="TryReserve"/>.</summary>
    public void Release(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Interlocked.Add(ref _used, -bytes);
    }

    /// <summary>A queue joins.</summary>
    internal void Join(IBudgetMember member)
    {
        lock (_membership)
        {
            _members.Add(member);
            Volatile.Write(ref _queues, _members.Count);
        }
    }

    /// <summary>A queue leaves, giving back what it still holds.</summary>
    internal void Leave(IBudgetMember member, long heldBytes)
    {
        lock (_membership)
        {
            int index = _members.IndexOf(member);
            if (index >= 0)
            {
                // Order does not matter: the last one takes the leaver's place.
                _members[index] = _members[^1];
                _members.RemoveAt(_members.Count - 1);
                Volatile.Write(ref _queues, _members.Count);
            }
        }

        Interlocked.Add(ref _used, -heldBytes);
    }

    /// <summary>The timestamp a queue records when it delivers a message or joins.</summary>
    internal long Now() => _time.GetTimestamp();

    /// <summary>
    /// While the sum is over the limit, makes room: when a drop-oldest queue is stalled, drops the oldest messages of
    /// the one that delivered least recently, as many as the sum is over and at least a hundredth of the limit, so that
    /// a stream of messages under pressure needs a trim, and its scan of the queues, only now and then; when none is,
    /// trims the largest drop-oldest queue above its share to the share. A few queues at most per call. Called by a
    /// queue outside its own lock, after it took bytes while the sum was over; queues whose policy forbids dropping what
    /// they accepted are never trimmed.
    /// </summary>
    internal void TrimStalest()
    {
        for (int round = 0; round < 4; round++)
        {
            long over = Volatile.Read(ref _used) - Limit;
            long share = Share;
            IBudgetMember? stalest = null, largest = null;
            long oldest = long.MaxValue, most = share;
            lock (_membership)
            {
                foreach (IBudgetMember member in _members)
                {
                    long bytes = member.MayDropOldest ? member.Bytes : 0;
                    if (bytes == 0)
                    {
                        continue;
                    }

                    long delivered = member.LastDelivered;
                    if (delivered < oldest)
                    {
                        (stalest, oldest) = (member, delivered);
                    }

                    if (bytes > most)
                    {
                        (largest, most) = (member, bytes);
                    }
                }
            }

            bool stalled = stalest is not null && _time.GetElapsedTime(oldest) >= StalledAfter;
            Volatile.Write(ref _stalestStalled, stalled);
            if (over <= 0)
            {
                return;
            }

            if (stalled)
            {
                stalest!.TrimTo(Math.Max(0, stalest.Bytes - Math.Max(over, Limit / 100)));
            }
            else if (largest is not null)
            {
                largest.TrimTo(share);
            }
            else
            {
                return;
            }
        }
    }

    /// <summary>
    /// Takes a message's <paramref name="size"/> for a queue that holds <paramref name="held"/> bytes, when the budget
    /// has room, or the queue is delivering while a stalled queue holds bytes (whose messages will make the room), or
    /// it is within its share with the message (true); otherwise takes nothing (false). Either way <paramref name="limit"/>
    /// is the byte limit the queue is held to: <paramref name="ownLimit"/>, or its share under pressure. The bytes are
    /// added first and given back if refused, so that concurrent queues each see the others' messages.
    /// </summary>
    internal bool TryTake(int size, long held, long ownLimit, long lastDelivered, out long limit)
    {
        long used = Interlocked.Add(ref _used, size);
        if (used <= Limit)
        {
            RaisePeak(used);
            limit = ownLimit;
            return true;
        }

        Interlocked.Increment(ref _pressureEvents);
        if (MayTakeFromStalled(lastDelivered))
        {
            RaisePeak(used);
            limit = ownLimit;
            return true;
        }

        limit = HeldTo(ownLimit);
        if (held + size <= limit)
        {
            RaisePeak(used);
            return true;
        }

        Interlocked.Add(ref _used, -size);
        return false;
    }

    /// <summary>The byte limit a queue already full by its own limit is held to: the smaller of it and the share, under pressure, unless it is delivering while a stalled queue holds bytes.</summary>
    internal long LimitFor(long ownLimit, long lastDelivered)
    {
        if (Volatile.Read(ref _used) < Limit || MayTakeFromStalled(lastDelivered))
        {
            return ownLimit;
        }

        Interlocked.Increment(ref _pressureEvents);
        return HeldTo(ownLimit);
    }

    /// <summary>
    /// The byte limit a queue's watermarks are measured against now: its share from 90 % of the budget up, unless it
    /// is delivering while a stalled queue holds bytes. The band keeps a queue held at its share from signalling resume
    /// each time a trim brings the sum just under the limit, and pause again at the next message.
    /// </summary>
    internal long CurrentLimit(long ownLimit, long lastDelivered) =>
        Volatile.Read(ref _used) < Limit - (Limit / 10) || MayTakeFromStalled(lastDelivered) ? ownLimit : HeldTo(ownLimit);

    // A queue whose consumer is taking messages is not held to a share while a stalled drop-oldest queue holds bytes:
    // that queue's oldest messages make its room.
    private bool MayTakeFromStalled(long lastDelivered) =>
        Volatile.Read(ref _stalestStalled) && _time.GetElapsedTime(lastDelivered) < StalledAfter;

    // Under pressure a queue is held to its share, or to its own limit when that is smaller (0: it has none).
    private long HeldTo(long ownLimit) => ownLimit > 0 ? Math.Min(ownLimit, Share) : Share;

    internal void Add(long bytes)
    {
        long used = Interlocked.Add(ref _used, bytes);
        if (bytes > 0)
        {
            RaisePeak(used);
        }
    }

    private void RaisePeak(long used) => AtomicMaximum.Raise(ref _peakUsed, used);
}
