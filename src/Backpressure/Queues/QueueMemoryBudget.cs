namespace Backpressure.Queues;

/// <summary>
/// One byte budget shared by many per-client queues (and anything else that holds bytes for one client), so that
/// their sum is bounded, not only each of them: 500 clients that never read, each allowed a 1 MiB queue, would
/// otherwise hold 500 MiB, and the sum is whatever the clients choose.
/// </summary>
/// <remarks>
/// <para>
/// While the sum is under <see cref="Limit"/>, a queue is bounded only by its own limits. When a message would take the
/// sum past it, the budget is under pressure and each queue is held to its fair <see cref="Share"/>, the limit divided
/// among the queues: a queue above its share is full, and its own <see cref="OverflowPolicy"/> decides (drop-oldest
/// trims it to the share, drop-newest refuses, block waits), while its watermarks are measured against the share, so
/// the slow-consumer rule of its owner (the grace period, then a disconnect) applies to it as to any full queue. A fast
/// consumer's queue is near empty, far below any share, and loses nothing; the largest and slowest are cut first.
/// </para>
/// <para>
/// A queue above its share is trimmed when it next takes a message, so the sum can pass the limit by what such queues
/// hold beyond their shares until then: for a producer that keeps publishing (a feed), one message interval.
/// <see cref="PeakUsed"/> reports what it reached. Holders that are not queues (a gRPC call's message in flight)
/// take bytes with <see cref="TryReserve"/>, which refuses what would pass the limit.
/// </para>
/// </remarks>
public sealed class QueueMemoryBudget
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, IBudgetMember> _members = new();
    private long _nextMember;
    private long _used;
    private long _peakUsed;
    private int _queues;
    private long _pressureEvents;

    /// <summary>Creates a budget of <paramref name="limitBytes"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limitBytes"/> is not positive.</exception>
    public QueueMemoryBudget(long limitBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitBytes);
        Limit = limitBytes;
    }

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

    /// <summary>A queue joins; the result is its membership, to leave with.</summary>
    internal long Join(IBudgetMember member)
    {
        long id = Interlocked.Increment(ref _nextMember);
        _members[id] = member;
        Interlocked.Increment(ref _queues);
        return id;
    }

    /// <summary>A queue leaves, giving back what it still holds.</summary>
    internal void Leave(long membership, long heldBytes)
    {
        if (_members.TryRemove(membership, out _))
        {
            Interlocked.Decrement(ref _queues);
        }

        Interlocked.Add(ref _used, -heldBytes);
    }

    /// <summary>
    /// While the sum is over the limit, trims the largest queue that may lose its oldest messages to its share (a few at
    /// most per call). Called by a queue outside its own lock, after it took bytes it was entitled to while the sum was
    /// over: without it, the sum would pass the limit until the large queues' next messages trimmed them. Queues whose
    /// policy forbids dropping what they accepted (block, drop-newest) are left to their owner's slow-consumer rule.
    /// </summary>
    internal void TrimLargest()
    {
        for (int round = 0; round < 4 && Volatile.Read(ref _used) > Limit; round++)
        {
            long share = Share;
            IBudgetMember? largest = null;
            long most = share;
            foreach (IBudgetMember member in _members.Values)
            {
                long bytes = member.Bytes;
                if (bytes > most && member.MayDropOldest)
                {
                    (largest, most) = (member, bytes);
                }
            }

            if (largest is null)
            {
                return;
            }

            largest.TrimTo(share);
        }
    }

    /// <summary>
    /// Takes a message's <paramref name="size"/> for a queue that holds <paramref name="held"/> bytes, when the budget
    /// has room or the queue is within its share with the message (true); otherwise takes nothing (false). Either way
    /// <paramref name="limit"/> is the byte limit the queue is held to: <paramref name="ownLimit"/>, or its share under pressure.
    /// The bytes are added first and given back if refused, so that concurrent queues each see the others' messages.
    /// </summary>
    internal bool TryTake(int size, long held, long ownLimit, out long limit)
    {
        long used = Interlocked.Add(ref _used, size);
        if (used <= Limit)
        {
            RaisePeak(used);
            limit = ownLimit;
            return true;
        }

        Interlocked.Increment(ref _pressureEvents);
        limit = HeldTo(ownLimit);
        if (held + size <= limit)
        {
            RaisePeak(used);
            return true;
        }

        Interlocked.Add(ref _used, -size);
        return false;
    }

    /// <summary>The byte limit a queue already full by its own limit is held to: the smaller of it and the share, under pressure.</summary>
    internal long LimitFor(long ownLimit)
    {
        if (Volatile.Read(ref _used) < Limit)
        {
            return ownLimit;
        }

        Interlocked.Increment(ref _pressureEvents);
        return HeldTo(ownLimit);
    }

    /// <summary>
    /// The byte limit a queue's watermarks are measured against now: its share from 90 % of the budget up. The band
    /// keeps a queue held at its share from signalling resume each time a trim brings the sum just under the limit,
    /// and pause again at the next message.
    /// </summary>
    internal long CurrentLimit(long ownLimit) =>
        Volatile.Read(ref _used) < Limit - (Limit / 10) ? ownLimit : HeldTo(ownLimit);

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
