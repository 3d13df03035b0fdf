using System.Diagnostics.Metrics;
using Backpressure.AspNetCore;
using Backpressure.Server.Grpc;
using Backpressure.Server.WebSockets;

namespace Backpressure.Server;

/// <summary>
/// The reference server's own instruments on the <c>Backpressure</c> meter: its WebSocket connections
/// and its gRPC streams, read from the same statistics <c>/stats</c> shows, and a histogram of the
/// connections' queue depths. The queues' depth and counts are the library's instruments
/// (<see cref="BackpressureMetrics.ObserveQueue"/>, called for each session by <see cref="WebSockets.WebSocketSessions"/>).
/// Nothing is reported per connection, so the number of series stays fixed however many clients
/// connect; the deepest connections themselves are in <c>/stats</c>.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(1);

    private readonly WebSocketSessions _sessions;
    private readonly SharedSnapshot<WebSocketStatistics> _byEndpoint;
    private readonly SharedSnapshot<GrpcStatistics> _grpc;
    private readonly Histogram<long> _connectionDepth;
    private readonly ITimer _sampler;

    public ServerMetrics(BackpressureMetrics metrics, WebSocketSessions sessions, GrpcStreams streams, TimeProvider time)
    {
        _sessions = sessions;
        _byEndpoint = new(() => sessions.GetStatistics(deepest: 0), time);
        _grpc = new(() => streams.GetStatistics(deepest: 0), time);
        Meter meter = metrics.Meter;
        _connectionDepth = meter.CreateHistogram<long>(
            "backpressure.queue.connection_depth", "{message}", "Each live connection's queue depth, sampled every second: how depth is spread over connections.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [0, 1, 5, 10, 25, 50, 100, 250, 500, 1000] });
        _sampler = time.CreateTimer(static state => ((ServerMetrics)state!).SampleDepths(), this, SampleEvery, SampleEvery);
        meter.CreateObservableUpDownCounter("backpressure.websocket.connections", () => PerEndpoint(e => e.Connections), "{connection}", "Open WebSocket connections.");
        meter.CreateObservableCounter("backpressure.websocket.flow_signals", FlowSignals, "{signal}", "flow.pause and flow.resume signals raised by the queues' watermarks.");
        meter.CreateObservableCounter("backpressure.websocket.disconnects", Disconnects, "{connection}", "Connections the server closed: slow (1008) or too_big (1009).");
        meter.CreateObservableUpDownCounter("backpressure.grpc.streams", () => PerMethod(m => m.Active), "{stream}", "gRPC calls in progress.");
        meter.CreateObservableCounter("backpressure.grpc.calls", GrpcCalls, "{call}", "gRPC calls, admitted or refused (RESOURCE_EXHAUSTED) by the per-method limit.");
        meter.CreateObservableCounter("backpressure.grpc.send_wait", () => PerMethod(m => m.SendWaitMilliseconds / 1000), "s", "Time gRPC writes spent waiting for the reader's HTTP/2 window.");
        meter.CreateObservableCounter("backpressure.grpc.messages", GrpcMessages, "{message}", "gRPC messages sent and received.");
        meter.CreateObservableGauge(
            "backpressure.send.blocked", SendsBlocked, "s",
            "The longest send waiting right now for its reader, per WebSocket endpoint and gRPC method: a stalled consumer shows while it stalls.");
    }

    // Per queue kind and overflow policy: a handful of series, whatever the number of connections.
    public void Dispose() => _sampler.Dispose();

    private void SampleDepths()
    {
        if (!_connectionDepth.Enabled)
        {
            return;
        }

        foreach (var (endpoint, policy, depth) in _sessions.LiveDepths())
        {
            _connectionDepth.Record(depth, Tag(BackpressureMeter.QueueTag, $"websocket.{endpoint}"), Tag(BackpressureMeter.OverflowPolicyTag, policy));
        }
    }

    private IEnumerable<Measurement<long>> PerEndpoint(Func<WebSocketEndpointStatistics, long> value) =>
        _byEndpoint.Get().Endpoints.Select(e => new Measurement<long>(value(e.Value), Tag("backpressure.websocket.endpoint", e.Key)));

    private IEnumerable<Measurement<long>> FlowSignals() => _byEndpoint.Get().Endpoints.SelectMany(e => new[]
    {
        new Measurement<long>(e.Value.Pauses, Tag("backpressure.websocket.endpoint", e.Key), Tag("backpressure.flow_signal", "pause")),
        new Measurement<long>(e.Value.Resumes, Tag("backpressure.websocket.endpoint", e.Key), Tag("backpressure.flow_signal", "resume")),
    });

    private IEnumerable<Measurement<long>> Disconnects() => _byEndpoint.Get().Endpoints.SelectMany(e => new[]
    {
        new Measurement<long>(e.Value.SlowDisconnects, Tag("backpressure.websocket.endpoint", e.Key), Tag("backpressure.disconnect_reason", "slow")),
        new Measurement<long>(e.Value.TooBigDisconnects, Tag("backpressure.websocket.endpoint", e.Key), Tag("backpressure.disconnect_reason", "too_big")),
    });

    private IEnumerable<Measurement<T>> PerMethod<T>(Func<GrpcMethodStatistics, T> value)
        where T : struct =>
        _grpc.Get().Methods.Select(m => new Measurement<T>(value(m.Value), Tag("backpressure.grpc.method", m.Key)));

    private IEnumerable<Measurement<double>> SendsBlocked() =>
        _byEndpoint.Get().Endpoints
            .Select(e => new Measurement<double>(e.Value.LongestSendBlockedMilliseconds / 1000, Tag("backpressure.websocket.endpoint", e.Key)))
            .Concat(_grpc.Get().Methods.Select(m => new Measurement<double>(m.Value.LongestSendBlockedMilliseconds / 1000, Tag("backpressure.grpc.method", m.Key))));

    private IEnumerable<Measurement<long>> GrpcCalls() => _grpc.Get().Methods.SelectMany(m => new[]
    {
        new Measurement<long>(m.Value.Calls, Tag("backpressure.grpc.method", m.Key), Tag(BackpressureMeter.OutcomeTag, "admitted")),
        new Measurement<long>(m.Value.Refused, Tag("backpressure.grpc.method", m.Key), Tag(BackpressureMeter.OutcomeTag, "refused")),
    });

    private IEnumerable<Measurement<long>> GrpcMessages() => _grpc.Get().Methods.SelectMany(m => new[]
    {
        new Measurement<long>(m.Value.MessagesSent, Tag("backpressure.grpc.method", m.Key), Tag("backpressure.message.direction", "sent")),
        new Measurement<long>(m.Value.MessagesReceived, Tag("backpressure.grpc.method", m.Key), Tag("backpressure.message.direction", "received")),
    });

    private static KeyValuePair<string, object?> Tag(string name, string value) => new(name, value);
}
