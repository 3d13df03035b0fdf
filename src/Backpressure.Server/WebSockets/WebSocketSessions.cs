using System.Collections.Concurrent;
using Backpressure.Queues;

namespace Backpressure.Server.WebSockets;

/// <summary>
/// Every WebSocket session of the server: counts per endpoint, and the live sessions' queues, so
/// <c>/stats</c> can show totals and the deepest few connections without a metric per connection.
/// </summary>
public sealed class WebSocketSessions
{
    private readonly ConcurrentDictionary<long, Session> _active = new();
    private readonly ConcurrentDictionary<string, EndpointTotals> _totals = new();
    private long _nextId;

    /// <summary>Records a newly accepted session whose queue is read through <paramref name="statistics"/>.</summary>
    public long Open(string endpoint, OverflowPolicy policy, Func<MessageQueueStatistics> statistics)
    {
        long id = Interlocked.Increment(ref _nextId);
        Interlocked.Increment(ref Totals(endpoint).Accepted);
        _active[id] = new Session(id, endpoint, policy, statistics);
        return id;
    }

    /// <summary>Records a session's end: its queue's final counters join the endpoint's totals.</summary>
    public void Close(long id, bool slow, bool tooBig)
    {
        if (!_active.TryRemove(id, out Session? session))
        {
            return;
        }

        EndpointTotals totals = Totals(session.Endpoint);
        MessageQueueStatistics final = session.Statistics();
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
        var live = _active.Values.Select(s => (Session: s, Queue: s.Statistics())).ToList();
        var endpoints = new Dictionary<string, WebSocketEndpointStatistics>();
        foreach ((string endpoint, EndpointTotals totals) in _totals)
        {
            MessageQueueStatistics sum;
            long slow, tooBig;
            lock (totals)
            {
                sum = totals.Closed;
                slow = totals.SlowDisconnects;
                tooBig = totals.TooBigDisconnects;
            }

            var mine = live.Where(l => l.Session.Endpoint == endpoint).ToList();
            sum = mine.Aggregate(sum, (acc, l) => Add(acc, l.Queue));
            endpoints[endpoint] = new WebSocketEndpointStatistics(
                mine.Count, Volatile.Read(ref totals.Accepted), slow, tooBig,
                sum.Enqueued, sum.Delivered, sum.Dropped, mine.Sum(l => (long)l.Queue.Count), mine.Sum(l => l.Queue.Bytes),
                mine.Count == 0 ? 0 : mine.Max(l => l.Queue.Count), sum.Pauses, sum.Resumes);
        }

        var deepestQueues = live
            .OrderByDescending(l => l.Queue.Count).ThenByDescending(l => l.Queue.Bytes)
            .Take(deepest)
            .Select(l => new WebSocketConnectionSnapshot(
                l.Session.Id, l.Session.Endpoint, WebSocketSessionRequest.PolicyName(l.Session.Policy),
                l.Queue.Count, l.Queue.Bytes, l.Queue.Dropped, l.Queue.IsPaused))
            .ToList();
        return new WebSocketStatistics(endpoints, deepestQueues);
    }

    private EndpointTotals Totals(string endpoint) => _totals.GetOrAdd(endpoint, static _ => new EndpointTotals());

    private static MessageQueueStatistics Add(MessageQueueStatistics a, MessageQueueStatistics b) => new(
        a.Enqueued + b.Enqueued, a.Delivered + b.Delivered, a.Dropped + b.Dropped, 0, 0,
        Math.Max(a.PeakCount, b.PeakCount), Math.Max(a.PeakBytes, b.PeakBytes), false, a.Pauses + b.Pauses, a.Resumes + b.Resumes);

    private sealed record Session(long Id, string Endpoint, OverflowPolicy Policy, Func<MessageQueueStatistics> Statistics);

    private sealed class EndpointTotals
    {
        public long Accepted;
        public long SlowDisconnects;
        public long TooBigDisconnects;
        public MessageQueueStatistics Closed;
    }
}

/// <summary>The WebSocket part of <c>/stats</c>.</summary>
/// <param name="Endpoints">Totals per endpoint (<c>feed</c>, <c>ingest</c>).</param>
/// <param name="Deepest">The live connections with the fullest queues, fullest first.</param>
public sealed record WebSocketStatistics(
    IReadOnlyDictionary<string, WebSocketEndpointStatistics> Endpoints,
    IReadOnlyList<WebSocketConnectionSnapshot> Deepest);

/// <summary>One WebSocket endpoint's sessions: connection counts, and its queues' counters summed over closed and live sessions.</summary>
public sealed record WebSocketEndpointStatistics(
    int Connections,
    long Accepted,
    long SlowDisconnects,
    long TooBigDisconnects,
    long Enqueued,
    long Delivered,
    long Dropped,
    long Queued,
    long QueuedBytes,
    int MaxQueueDepth,
    long Pauses,
    long Resumes);

/// <summary>One live connection's queue.</summary>
public sealed record WebSocketConnectionSnapshot(long Id, string Endpoint, string Policy, int Depth, long Bytes, long Dropped, bool Paused);
