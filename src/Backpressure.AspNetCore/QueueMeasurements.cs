using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Backpressure.Queues;

namespace Backpressure.AspNetCore;

/// <summary>
/// The queues observed through <see cref="BackpressureMetrics.ObserveQueue"/>, summed per kind and overflow
/// policy: a handful of series however many connections each hold a queue. A queue that ends leaves its final
/// counts in its group's totals, so the counters never go back.
/// </summary>
internal sealed class QueueMeasurements
{
    private readonly ConcurrentDictionary<(string Queue, OverflowPolicy Policy), Group> _groups = new();
    private readonly SharedSnapshot<List<((string Queue, OverflowPolicy Policy) Key, Totals Totals)>> _snapshot;
    private long _nextId;

    public QueueMeasurements(Meter meter, TimeProvider time)
    {
        // Summing walks every live queue; the five instruments of one collection share one walk.
        _snapshot = new(() => [.. _groups.Select(g => (g.Key, g.Value.Sum()))], time);
        meter.CreateObservableUpDownCounter("backpressure.queue.depth", () => Observe(g => g.Queued), "{message}", "Messages waiting in the queues of one kind, summed over them.");
        meter.CreateObservableGauge("backpressure.queue.depth.max", () => Observe(g => g.Deepest), "{message}", "The deepest single queue of one kind.");
        meter.CreateObservableCounter("backpressure.queue.enqueued", () => Observe(g => g.Enqueued), "{message}", "Messages offered to queues of one kind (delivered + dropped + still queued).");
        meter.CreateObservableCounter("backpressure.queue.delivered", () => Observe(g => g.Delivered), "{message}", "Messages taken out of queues of one kind.");
        meter.CreateObservableCounter("backpressure.queue.dropped", () => Observe(g => g.Dropped), "{message}", "Messages queues of one kind dropped by their overflow policy.");
    }

    public IDisposable Add(string queue, OverflowPolicy policy, Func<MessageQueueStatistics> statistics)
    {
        Group group = _groups.GetOrAdd((queue, policy), static _ => new Group());
        long id = Interlocked.Increment(ref _nextId);
        lock (group)
        {
            group.Live[id] = statistics;
        }

        return new Registration(group, id);
    }

    /// <summary>The messages waiting in every queue of <paramref name="queue"/> (any policy), or the deepest one's with <paramref name="deepest"/>; 0 while there is none.</summary>
    public long Depth(string queue, bool deepest)
    {
        long value = 0;
        foreach (var ((kind, _), totals) in _snapshot.Get())
        {
            if (kind == queue)
            {
                value = deepest ? Math.Max(value, totals.Deepest) : value + totals.Queued;
            }
        }

        return value;
    }

    private IEnumerable<Measurement<long>> Observe(Func<Totals, long> value) =>
        _snapshot.Get().Select(g => new Measurement<long>(
            value(g.Totals),
            new KeyValuePair<string, object?>(BackpressureMeter.QueueTag, g.Key.Queue),
            new KeyValuePair<string, object?>(BackpressureMeter.OverflowPolicyTag, PolicyName(g.Key.Policy))));

    private static string PolicyName(OverflowPolicy policy) => policy switch
    {
        OverflowPolicy.DropOldest => "drop-oldest",
        OverflowPolicy.DropNewest => "drop-newest",
        _ => "block",
    };

    private readonly record struct Totals(long Queued, long Deepest, long Enqueued, long Delivered, long Dropped);

    private sealed class Group
    {
        public Dictionary<long, Func<MessageQueueStatistics>> Live { get; } = [];

        public long ClosedEnqueued { get; set; }

        public long ClosedDelivered { get; set; }

        public long ClosedDropped { get; set; }

        // Under the group's lock: a queue moving from live to closed is never counted twice or not at all.
        public Totals Sum()
        {
            lock (this)
            {
                long queued = 0, deepest = 0, enqueued = ClosedEnqueued, delivered = ClosedDelivered, dropped = ClosedDropped;
                foreach (Func<MessageQueueStatistics> statistics in Live.Values)
                {
                    MessageQueueStatistics s = statistics();
                    queued += s.Count;
                    deepest = Math.Max(deepest, s.Count);
                    enqueued += s.Enqueued;
                    delivered += s.Delivered;
                    dropped += s.Dropped;
                }

                return new Totals(queued, deepest, enqueued, delivered, dropped);
            }
        }
    }

    private sealed class Registration(Group group, long id) : IDisposable
    {
        public void Dispose()
        {
            lock (group)
            {
                if (group.Live.Remove(id, out Func<MessageQueueStatistics>? statistics))
                {
                    MessageQueueStatistics final = statistics();
                    group.ClosedEnqueued += final.Enqueued;
                    group.ClosedDelivered += final.Delivered;
                    group.ClosedDropped += final.Dropped;
                }
            }
        }
    }
}
