namespace Backpressure.Queues;

/// <summary>
/// One byte budget shared by many per-client queues (and anything else that holds bytes for one client), so that
/// their sum is bounded, not only each of them: 500 clients that never read, each allowed a 1 MiB queue, would
/// otherwise hold 500 MiB, and the sum is whatever the clients choose.
/// </summary>
/// <remarks>
/// <para>
/// While the sum is under <see cref="Limit"/>, a queue is bounded only by its own limits. When a message would take the
/// sum past it, the budget is under pressure, and room is made at the expense of the clients that do not read. The
/// budget tells three kinds of queue apart by when they joined and when they last delivered a message: a queue is
/// <i>stalled</i> when its consumer has taken nothing for <see cref="StalledAfter"/> (a second); <i>new</i> when it
/// joined less than twice that ago (it has not yet shown whether its client reads); and a <i>proven reader</i> when it
/// is neither new nor stalled.
/// </para>
/// <para>
/// Room is taken, in this order, from the drop-oldest queue that delivered least recently if it is stalled, else from
/// the largest new drop-oldest queue: their oldest messages are dropped, as many as the sum is over and at least a
/// hundredth of the limit (so that a stream of messages under pressure needs a trim, and its scan of the queues, only
/// now and then). While there is such room to take, a proven reader is not held to a share: it may queue up to its own
/// limit. Without this, 500 stalled subscribers and 10 reading ones on a 64 MiB budget leave each a share of 128 KiB,
/// which a reader's queue passes on any hiccup of the server (a GC pause, 500 clients connecting at once).
/// </para>
/// <para>
/// Every other queue is held to its fair <see cref="Share"/>, the limit divided among the queues: a queue above its
/// share is full, and its own <see cref="OverflowPolicy"/> decides (drop-oldest trims it to the share, drop-newest
/// refuses, block waits), while from 90 % of the limit its watermarks are measured against the share, so the
/// slow-consumer rule of its owner (the grace period, then a disconnect) applies to it as to any full queue, and
/// stalled queues signal pause (their producers can slow down) instead of taking turns emptying each other. When no
/// queue is stalled or new, the largest drop-oldest queue above its share is trimmed to it. Queues whose policy forbids
/// dropping what they accepted (block, drop-newest) are never trimmed by others.
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
    private readonly TimeProvider _time;
    // StalledAfter in the clock's timestamp units, so that a scan of the queues compares timestamps, not elapsed times.
    private readonly long _stalledAfterTicks;
    private long _used;
    private long _peakUsed;
    private int _queues;
    private long _pressureEvents;
    // Whether, as the last scan found, a stalled or a new drop-oldest queue holds bytes: room a proven reader past its
    // share may take. False before any scan, so every queue is held to its share until one has run.
    private bool _roomToTake;

    /// <summary>Creates a budget of <paramref name="limitBytes"/>.</summary>
    /// <param name="limitBytes">The most bytes the holders may hold between them.</param>
    /// <param name="timeProvider">The clock that tells when each queue last delivered; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limitBytes"/> is not positive.</exception>
    public QueueMemoryBudget(long limitBytes, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitBytes);
        Limit = limitBytes;
        _time = timeProvider ?? TimeProvider.System;
        _stalledAfterTicks = (long)(StalledAfter.TotalSeconds * _time.TimestampFrequency);
    }

    /// <summary>How long a queue's consumer may take nothing before it counts as stalled (and a new queue is new for twice that): one second.</summary>
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
    /// While the sum is over the limit, makes room as the type's remarks say: from the stalest drop-oldest queue if it
    /// is stalled, else from the largest new one, else by trimming the largest above its share to the share. A few
    /// queues at most per call. Called by a queue outside its own lock, after it took bytes while the sum was over.
    /// </summary>
    internal void MakeRoom()
    {
        for (int round = 0; round < 4; round++)
        {
            long now = _time.GetTimestamp();
            long over = Volatile.Read(ref _used) - Limit;
            long share = Share;
            IBudgetMember? stalest = null, largest = null, largestNew = null;
            long oldest = long.MaxValue, most = share, mostNew = 0;
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

                    if (bytes > mostNew && !IsProven(member, now))
                    {
                        (largestNew, mostNew) = (member, bytes);
                    }
                }
            }

            bool stalled = stalest is not null && now - oldest >= _stalledAfterTicks;
            Volatile.Write(ref _roomToTake, stalled || largestNew is not null);
            if (over <= 0)
            {
                return;
            }

            if ((stalled ? stalest : largestNew) is { } victim)
            {
                victim.TrimTo(Math.Max(0, victim.Bytes - Math.Max(over, Limit / 100)));
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
    /// has room, or the queue is a proven reader while a stalled or new queue holds bytes (whose messages make the room), or
    /// it is within its share with the message (true); otherwise takes nothing (false). Either way <paramref name="limit"/>
    /// is the byte limit the queue is held to: <paramref name="ownLimit"/>, or its share under pressure. The bytes are
    /// added first and given back if refused, so that concurrent queues each see the others' messages.
    /// </summary>
    internal bool TryTake(int size, long held, long ownLimit, IBudgetMember member, out long limit)
    {
        long used = Interlocked.Add(ref _used, size);
        if (used <= Limit)
        {
            RaisePeak(used);
            limit = ownLimit;
            return true;
        }

        Interlocked.Increment(ref _pressureEvents);
        if (MayPassShare(member))
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

    /// <summary>The byte limit a queue already full by its own limit is held to: the smaller of it and the share, under pressure, unless it is a proven reader with room to take.</summary>
    internal long LimitFor(long ownLimit, IBudgetMember member)
    {
        if (Volatile.Read(ref _used) < Limit || MayPassShare(member))
        {
            return ownLimit;
        }

        Interlocked.Increment(ref _pressureEvents);
        return HeldTo(ownLimit);
    }

    /// <summary>
    /// The byte limit a queue's watermarks are measured against now: its share from 90 % of the budget up, unless it
    /// is a proven reader (whose pause would only slow a client that reads, before any room is known to be short).
    /// The band keeps a queue held at its share from signalling resume
    /// each time a trim brings the sum just under the limit, and pause again at the next message.
    /// </summary>
    internal long CurrentLimit(long ownLimit, IBudgetMember member) =>
        Volatile.Read(ref _used) < Limit - (Limit / 10) || IsProvenReader(member) ? ownLimit : HeldTo(ownLimit);

    // A proven reader is not held to a share while a stalled or a new drop-oldest queue holds bytes: that queue's oldest
    // messages make its room.
    private bool MayPassShare(IBudgetMember member) => Volatile.Read(ref _roomToTake) && IsProvenReader(member);

    // Neither new nor stalled: it has shown that its client reads, and still does.
    private bool IsProvenReader(IBudgetMember member)
    {
        long now = _time.GetTimestamp();
        return IsProven(member, now) && now - member.LastDelivered < _stalledAfterTicks;
    }

    // In the budget long enough to have shown whether it reads: twice StalledAfter, so that a newcomer that read for a
    // moment and stopped counts as stalled before it stops counting as new.
    private bool IsProven(IBudgetMember member, long now) => now - member.JoinedAt >= 2 * _stalledAfterTicks;

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
