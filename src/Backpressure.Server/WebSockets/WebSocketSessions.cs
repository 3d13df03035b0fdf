using System.Collections.Concurrent;
using Backpressure.AspNetCore;
using Backpressure.Queues;

namespace Backpressure.Server.WebSockets;

/// <summary>
/// Every WebSocket session of the server: counts per endpoint and overflow policy, and the live sessions' queues, so
/// <c>/stats</c> can show totals and the deepest few connections without a metric per connection.
/// </summary>
/// <param name="metrics">Each session's queue is reported on the library's queue instruments.</param>
public sealed class WebSocketSessions(BackpressureMetrics metrics)
{
    private readonly ConcurrentDictionary<long, Session> _active = new();
    private readonly ConcurrentDictionary<(string Endpoint, OverflowPolicy Policy), EndpointTotals> _totals = new();
    private long _nextId;

    /// <summary>
    /// Records a newly accepted session whose queue is read through <paramref name="statistics"/>, and the send it has
    /// waiting for the client right now through <paramref name="sendWait"/>.
    /// </summary>
    public long Open(string endpoint, OverflowPolicy policy, Func<MessageQueueStatistics> statistics, Func<TimeSpan> sendWait)
    {
        long id = Interlocked.Increment(ref _nextId);
        Interlocked.Increment(ref Totals(endpoint, policy).Accepted);
        _active[id] = new Session(id, endpoint, policy, statistics, sendWait, metrics.ObserveQueue($"websocket.{endpoint}", policy, statistics));
        return id;
    }

    /// <summary>Records a session's end: its queue's final counters join the endpoint's totals.</summary>
    public void Close(long id, bool slow, bool tooBig)
    {
        if (!_active.TryRemove(id, out Session? session))
        {
            return;
        }

        session.Observed.Dispose();
        EndpointTotals totals = Totals(session.Endpoint, session.Policy);
        // What was still queued when the connection closed will never be delivered: it counts as dropped, so that
        // enqueued = delivered + dropped + queued holds for the totals of closed sessions too.
        MessageQueueStatistics last = session.Statistics();
        MessageQueueStatistics final = last with { Dropped = last.Dropped + last.Count, Count = 0, Bytes = 0 };
        lock (totals)
        {
            totals.Closed = Add(totals.Closed, final);
            totals.SlowDisconnects += slow ? 1 : 0;
            totals.TooBigDisconnects += tooBig ? 1 : 0;
        }
    }

    /// <summary>Totals per endpoint (closed and live sessions together) and the <paramref name="deepest"/> fullest live queues.</summary>
    public WebSocketStatistics GetStatistics(int deepest = 5)
    {
        var live = Live();
        var deepestQueues = live
            .OrderByDescending(l => l.Queue.Count).ThenByDescending(l => l.Queue.Bytes)
            .Take(deepest)
            .Select(Snapshot)
            .ToList();
        var longestBlocked = live
            .Where(l => l.SendWait > TimeSpan.Zero)
            .OrderByDescending(l => l.SendWait)
            .Take(deepest)
            .Select(Snapshot)
            .ToList();
        return new WebSocketStatistics(Summarise(live, key => key.Endpoint), deepestQueues, longestBlocked);
    }

    /// <summary>Every live connection's queue depth, with its endpoint and overflow policy: for the depth histogram.</summary>
    public IEnumerable<(string Endpoint, string Policy, int Depth)> LiveDepths() =>
        _active.Values.Select(s => (s.Endpoint, WebSocketSessionRequest.PolicyName(s.Policy), s.Statistics().Count));

    private List<(Session Session, MessageQueueStatistics Queue, TimeSpan SendWait)> Live() =>
        [.. _active.Values.Select(s => (Session: s, Queue: s.Statistics(), SendWait: s.SendWait()))];

    private static WebSocketConnectionSnapshot Snapshot((Session Session, MessageQueueStatistics Queue, TimeSpan SendWait) l) => new(
        l.Session.Id, l.Session.Endpoint, WebSocketSessionRequest.PolicyName(l.Session.Policy),
        l.Queue.Count, l.Queue.Bytes, l.Queue.Dropped, l.Queue.IsPaused, l.SendWait.TotalMilliseconds);

    private Dictionary<string, WebSocketEndpointStatistics> Summarise(
        List<(Session Session, MessageQueueStatistics Queue, TimeSpan SendWait)> live, Func<(string Endpoint, OverflowPolicy Policy), string> groupOf)
    {
        var groups = new Dictionary<string, (long Accepted, long Slow, long TooBig, MessageQueueStatistics Closed)>();
        foreach (var ((endpoint, policy), totals) in _totals)
        {
            string group = groupOf((endpoint, policy));
            var sum = groups.GetValueOrDefault(group);
            lock (totals)
            {
                groups[group] = (sum.Accepted + Volatile.Read(ref totals.Accepted), sum.Slow + totals.SlowDisconnects,
                    sum.TooBig + totals.TooBigDisconnects, Add(sum.Closed, totals.Closed));
            }
        }

        var summaries = new Dictionary<string, WebSocketEndpointStatistics>();
        foreach (var (group, totals) in groups)
        {
            var mine = live.Where(l => groupOf((l.Session.Endpoint, l.Session.Policy)) == group).ToList();
            MessageQueueStatistics sum = mine.Aggregate(totals.Closed, (acc, l) => Add(acc, l.Queue));
            summaries[group] = new WebSocketEndpointStatistics(
                mine.Count, totals.Accepted, totals.Slow, totals.TooBig,
                sum.Enqueued, sum.Delivered, sum.Dropped, mine.Sum(l => (long)l.Queue.Count), mine.Sum(l => l.Queue.Bytes),
                mine.Count == 0 ? 0 : mine.Max(l => l.Queue.Count), sum.Pauses, sum.Resumes,
                mine.Count == 0 ? 0 : mine.Max(l => l.SendWait.TotalMilliseconds));
        }

        return summaries;
    }

    private EndpointTotals Totals(string endpoint, OverflowPolicy policy) => _totals.GetOrAdd((endpoint, policy), static _ => new EndpointTotals());

    private static MessageQueueStatistics Add(MessageQueueStatistics a, MessageQueueStatistics b) => new(
        a.Enqueued + b.Enqueued, a.Delivered + b.Delivered, a.Dropped + b.Dropped, 0, 0,
        Math.Max(a.PeakCount, b.PeakCount), Math.Max(a.PeakBytes, b.PeakBytes), false, a.Pauses + b.Pauses, a.Resumes + b.Resumes);

    private sealed record Session(
        long Id, string Endpoint, OverflowPolicy Policy, Func<MessageQueueStatistics> Statistics, Func<TimeSpan> SendWait, IDisposable Observed);

    private sealed class EndpointTotals
    {
        public long Accepted;
        public long SlowDisconnects;
        public long TooBigDisconnects;
        public MessageQueueStatistics Closed;
    }
}
