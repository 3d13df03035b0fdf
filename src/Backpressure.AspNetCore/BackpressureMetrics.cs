using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Backpressure.Adaptive;
using Backpressure.Queues;

namespace Backpressure.AspNetCore;

/// <summary>
/// The instruments of the <c>Backpressure</c> meter that the ASP.NET Core adapter records: every
/// decision of a policy, how long admitted work took, how long requests waited for a permit, and
/// each named pressure gauge's permits in flight and limit. Names, units and tags are listed in
/// <c>docs/metrics.md</c>. Registered by <c>AddBackpressure</c>;
/// the meter comes from <see cref="IMeterFactory"/>, so tests and hosts can scope it.
/// </summary>
public sealed class BackpressureMetrics
{
    private readonly ConcurrentDictionary<string, PolicyMeasurements> _policies = new(StringComparer.Ordinal);
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _wait;
    private readonly ConcurrentDictionary<string, Func<(int InFlight, int Limit)>> _gauges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Func<int>> _partitions = new(StringComparer.Ordinal);
    private readonly QueueMeasurements _queues;
    private readonly ConcurrentDictionary<string, Admission.WaitingRoomMeasurements> _rooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, QueueMemoryBudget> _budgets = new(StringComparer.Ordinal);

    /// <summary>Creates the instruments on the factory's <c>Backpressure</c> meter.</summary>
    /// <param name="meterFactory">Creates the meter.</param>
    /// <param name="timeProvider">The clock request durations and waits are measured on; <see cref="TimeProvider.System"/> when null.</param>
    public BackpressureMetrics(IMeterFactory meterFactory, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Time = timeProvider ?? TimeProvider.System;
        Meter = meterFactory.Create(BackpressureMeter.Name);
        Meter.CreateObservableCounter(
            "backpressure.requests", ObserveDecisions, "{request}", "Requests decided by a policy, by outcome: admitted, refused (429) or unavailable (503).");
        _duration = Meter.CreateHistogram<double>(
            "backpressure.request.duration", "s", "How long admitted requests held their permit: the work the limit protects.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _wait = Meter.CreateHistogram<double>(
            "backpressure.request.wait", "s", "How long requests that could not be decided at once waited for their permit (a leaky bucket's queue, a shared store's round trip).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] });
        _queues = new QueueMeasurements(Meter, Time);
        Meter.CreateObservableUpDownCounter("backpressure.permits.in_flight", ObserveInFlight, "{permit}", "Permits a pressure gauge or adaptive limit has handed out and not yet had back.");
        Meter.CreateObservableUpDownCounter("backpressure.partitions", ObservePartitions, "{partition}", "Partitions (clients, users, keys) a per-client policy holds now; never more than its MaxPartitions.");
        Meter.CreateObservableUpDownCounter("backpressure.permits.limit", ObserveLimits, "{permit}", "A pressure gauge's or adaptive limit's most permits in flight now (an adaptive limit moves).");
        Meter.CreateObservableCounter(
            "backpressure.admission.requests", () => _rooms.Values.SelectMany(r => r.Decisions()), "{request}",
            "Requests a waiting room decided, by criticality and outcome (admitted or shed) and, when shed, why.");
        Meter.CreateObservableUpDownCounter(
            "backpressure.admission.waiting", () => _rooms.Values.Select(r => r.Waiting()), "{request}", "Requests waiting in a waiting room now.");
        Meter.CreateObservableGauge(
            "backpressure.admission.threshold", () => _rooms.Values.Select(r => r.Threshold()), "{rank}",
            "The least important priority a waiting room admits now, as a rank from 0 (critical, first cohort) to 511 (batch, last cohort): 511 sheds nothing by priority.");
        Meter.CreateObservableUpDownCounter(
            "backpressure.memory_budget.used", () => PerBudget(b => b.Used), "By", "Bytes held now by the per-client queues (and messages in flight) that share a memory budget.");
        Meter.CreateObservableUpDownCounter(
            "backpressure.memory_budget.limit", () => PerBudget(b => b.Limit), "By", "A memory budget's limit: the most bytes its holders may hold between them.");
        Meter.CreateObservableCounter(
            "backpressure.memory_budget.pressure", () => PerBudget(b => b.PressureEvents), "{message}",
            "Messages that found their memory budget full, and so held their queue to its fair share (or were refused).");
    }

    /// <summary>The clock durations are measured on.</summary>
    internal TimeProvider Time { get; }

    /// <summary>The <c>Backpressure</c> meter, for instruments of the host's own (the reference server adds its queues and streams).</summary>
    public Meter Meter { get; }

    /// <summary>Reports <paramref name="gauge"/>'s permits under the tag <c>backpressure.policy=<paramref name="name"/></c>.</summary>
    public void Observe(string name, PressureGauge gauge)
    {
        ArgumentNullException.ThrowIfNull(gauge);
        _gauges[name] = () => (gauge.InFlight, gauge.PermitLimit);
    }

    /// <summary>Reports <paramref name="limiter"/>'s permits and its current limit under the tag <c>backpressure.policy=<paramref name="name"/></c>.</summary>
    public void Observe(string name, AdaptiveConcurrencyLimiter limiter)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        _gauges[name] = () => (limiter.InFlight, limiter.Limit);
    }

    /// <summary>Reports how many partitions <paramref name="limiter"/> holds, under the tag <c>backpressure.policy=<paramref name="name"/></c>.</summary>
    public void Observe<TResource>(string name, Partitioning.BoundedPartitionedRateLimiter<TResource> limiter)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        _partitions[name] = () => limiter.PartitionCount;
    }

    /// <summary>
    /// Reports <paramref name="room"/>'s decisions per criticality, its queue and its admission threshold under the tag
    /// <c>backpressure.policy=<paramref name="name"/></c>, on the <c>backpressure.admission.*</c> instruments.
    /// </summary>
    public void Observe<TResource>(string name, Backpressure.Admission.WaitingRoom<TResource> room)
    {
        ArgumentNullException.ThrowIfNull(room);
        _rooms[name] = new Admission.WaitingRoomMeasurements(name, room.GetShedCount, c => room.GetCounts(c).Admitted, () => room.QueuedCount, () => room.Threshold.Rank);
    }

    /// <summary>
    /// Reports a queue (a <see cref="WebSockets.WebSocketOutbox"/>'s, a <see cref="WebSockets.WebSocketInbox{T}"/>'s, any
    /// <see cref="BoundedMessageQueue{T}"/>'s) on the <c>backpressure.queue.*</c> instruments, summed with the other
    /// queues of kind <paramref name="queue"/> and the same <paramref name="policy"/>: depth, deepest, enqueued,
    /// delivered, dropped. Dispose the result when the queue is done; its final counts stay in the totals.
    /// </summary>
    /// <param name="queue">The kind of queue, a tag value such as <c>websocket.feed</c>: keep the kinds few, never one per connection.</param>
    /// <param name="policy">The queue's overflow policy, the second tag.</param>
    /// <param name="statistics">Reads the queue's counters, such as <c>outbox.GetStatistics</c>.</param>
    public IDisposable ObserveQueue(string queue, OverflowPolicy policy, Func<MessageQueueStatistics> statistics)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queue);
        ArgumentNullException.ThrowIfNull(statistics);
        return _queues.Add(queue, policy, statistics);
    }

    /// <summary>Reports <paramref name="budget"/> on the <c>backpressure.memory_budget.*</c> instruments under the tag <c>backpressure.budget=<paramref name="name"/></c>.</summary>
    public void Observe(string name, QueueMemoryBudget budget)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(budget);
        _budgets[name] = budget;
    }

    /// <summary>The budget observed as <paramref name="name"/>, if any.</summary>
    internal QueueMemoryBudget? Budget(string name) => _budgets.GetValueOrDefault(name);

    private IEnumerable<Measurement<long>> PerBudget(Func<QueueMemoryBudget, long> value) =>
        _budgets.Select(b => new Measurement<long>(value(b.Value), new KeyValuePair<string, object?>(BackpressureMeter.BudgetTag, b.Key)));

    /// <summary>The depth of the queues observed as <paramref name="queue"/>: summed, or the deepest one's.</summary>
    internal long QueueDepth(string queue, bool deepest) => _queues.Depth(queue, deepest);

    /// <summary>The measurements of the policy named <paramref name="policy"/>, shared by every endpoint it guards.</summary>
    internal PolicyMeasurements For(string policy) => _policies.GetOrAdd(policy, static (name, metrics) => new PolicyMeasurements(metrics, name), this);

    internal void Waited(string policy, long startedAt) =>
        _wait.Record(Time.GetElapsedTime(startedAt).TotalSeconds, new KeyValuePair<string, object?>(BackpressureMeter.PolicyTag, policy));

    internal void Held(string policy, long startedAt) =>
        _duration.Record(Time.GetElapsedTime(startedAt).TotalSeconds, new KeyValuePair<string, object?>(BackpressureMeter.PolicyTag, policy));

    /// <summary>Whether anyone listens to the duration histogram; when not, the request path skips reading the clock.</summary>
    internal bool TimesRequests => _duration.Enabled || _wait.Enabled;

    private IEnumerable<Measurement<long>> ObserveDecisions() => _policies.Values.SelectMany(p => p.Observe());

    private IEnumerable<Measurement<long>> ObserveInFlight() =>
        _gauges.Select(g => new Measurement<long>(g.Value().InFlight, new KeyValuePair<string, object?>(BackpressureMeter.PolicyTag, g.Key)));

    private IEnumerable<Measurement<long>> ObservePartitions() =>
        _partitions.Select(p => new Measurement<long>(p.Value(), new KeyValuePair<string, object?>(BackpressureMeter.PolicyTag, p.Key)));

    private IEnumerable<Measurement<long>> ObserveLimits() =>
        _gauges.Select(g => new Measurement<long>(g.Value().Limit, new KeyValuePair<string, object?>(BackpressureMeter.PolicyTag, g.Key)));
}
