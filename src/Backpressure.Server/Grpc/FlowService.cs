using Backpressure.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Backpressure.AspNetCore.Shutdown;
using Microsoft.Extensions.Options;

namespace Backpressure.Server.Grpc;

/// <summary>
/// The <c>backpressure.v1.Flow</c> service. Nothing here paces a sender to its reader: a write
/// simply waits inside <c>WriteAsync</c> while the reader's HTTP/2 window is closed, and a reader
/// that does not read keeps the sender's window closed. The only pacing in the code is the
/// server's own deliberately slow reading (<see cref="GrpcEndpointOptions.ConsumeRate"/>) and a
/// subscriber's optional rate.
/// </summary>
internal sealed class FlowService(IOptions<GrpcEndpointOptions> options, GrpcStreams streams, TimeProvider time, ShutdownDrain drain) : Flow.FlowBase
{
    private readonly GrpcEndpointOptions _limits = options.Value;

    public override async Task Subscribe(SubscribeRequest request, IServerStreamWriter<Item> responseStream, ServerCallContext context)
    {
        TimeSpan duration = CheckSubscribe(request);
        using GrpcStream stream = streams.Open(context.Method);
        using CancellationTokenSource call = WhileServing(context);
        try
        {
            await SubscribeAsync(request, duration, responseStream, stream, call.Token);
        }
        catch (OperationCanceledException) when (Stopping(context))
        {
            throw GoingAway();
        }
    }

    private async Task SubscribeAsync(
        SubscribeRequest request, TimeSpan duration, IServerStreamWriter<Item> responseStream, GrpcStream stream, CancellationToken cancelled)
    {
        ByteString payload = UnsafeByteOperations.UnsafeWrap(new byte[request.PayloadBytes]);
        Pacer? pacer = request.Rate > 0 ? new Pacer(request.Rate, timeProvider: time) : null;
        long started = time.GetTimestamp();
        long seq = 0;
        while (duration == TimeSpan.Zero || time.GetElapsedTime(started) < duration)
        {
            if (pacer is not null)
            {
                await pacer.WaitTurnAsync(cancelled);
            }

            var item = new Item { Seq = ++seq, SentAtMicros = NowMicros(), Payload = payload };
            await WriteAsync(responseStream, item, stream, cancelled);
        }
    }

    public override async Task<UploadSummary> Upload(IAsyncStreamReader<Item> requestStream, ServerCallContext context)
    {
        using GrpcStream stream = streams.Open(context.Method);
        using CancellationTokenSource call = WhileServing(context);
        long started = time.GetTimestamp();
        var reading = new PacedReading(_limits.ConsumeRate, time, stream, call.Token);
        try
        {
            while (await reading.NextAsync(requestStream) is not null)
            {
            }
        }
        catch (OperationCanceledException) when (Stopping(context))
        {
            throw GoingAway();
        }

        return new UploadSummary
        {
            Received = stream.Received,
            Bytes = stream.BytesReceived,
            Gaps = reading.Gaps,
            Elapsed = Duration.FromTimeSpan(time.GetElapsedTime(started)),
        };
    }

    public override async Task Chat(IAsyncStreamReader<Item> requestStream, IServerStreamWriter<Item> responseStream, ServerCallContext context)
    {
        using GrpcStream stream = streams.Open(context.Method);
        using CancellationTokenSource call = WhileServing(context);
        var reading = new PacedReading(_limits.ConsumeRate, time, stream, call.Token);
        long seq = 0;
        try
        {
            while (await reading.NextAsync(requestStream) is { } received)
            {
                var echo = new Item { Seq = ++seq, SentAtMicros = NowMicros(), Payload = received.Payload };
                await WriteAsync(responseStream, echo, stream, call.Token);
            }
        }
        catch (OperationCanceledException) when (Stopping(context))
        {
            throw GoingAway();
        }
    }

    // A stream is cancelled when its client goes, and when the server begins to stop.
    private CancellationTokenSource WhileServing(ServerCallContext context) =>
        CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, drain.Draining);

    private bool Stopping(ServerCallContext context) => drain.IsDraining && !context.CancellationToken.IsCancellationRequested;

    // UNAVAILABLE: the status gRPC clients retry, elsewhere.
    private static RpcException GoingAway() => new(new Status(StatusCode.Unavailable, "server shutting down"));

    private TimeSpan CheckSubscribe(SubscribeRequest request)
    {
        if (request.PayloadBytes < 0 || request.PayloadBytes > _limits.MaxPayloadBytes)
        {
            throw Invalid($"payload_bytes must be from 0 to {_limits.MaxPayloadBytes} (was {request.PayloadBytes})");
        }

        if (request.Rate < 0 || request.Rate > _limits.MaxSubscribeRate)
        {
            throw Invalid($"rate must be from 0 (as fast as flow control allows) to {_limits.MaxSubscribeRate} (was {request.Rate})");
        }

        TimeSpan duration = request.Duration?.ToTimeSpan() ?? TimeSpan.Zero;
        if (duration < TimeSpan.Zero || duration > TimeSpan.FromHours(1))
        {
            throw Invalid($"duration must be from 0 (until cancelled) to 1 h (was {duration})");
        }

        return duration;
    }

    private static RpcException Invalid(string reason) => new(new Status(StatusCode.InvalidArgument, reason));

    // Only a write that could not complete at once counts as waiting: it found the transport's buffer full
    // because the reader's window is closed (or, rarely, the socket is); serializing a message is not waiting.
    private async Task WriteAsync(IServerStreamWriter<Item> writer, Item item, GrpcStream stream, CancellationToken cancelled)
    {
        item.SenderWaitedMicros = (long)stream.SendWait.TotalMicroseconds;
        Task write = writer.WriteAsync(item, cancelled);
        long waited = 0;
        if (!write.IsCompleted)
        {
            long from = time.GetTimestamp();
            await write;
            waited = time.GetTimestamp() - from;
        }

        await write;
        stream.OnSent(item.CalculateSize(), waited);
    }

    private long NowMicros() => (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    /// <summary>Reads a client's stream no faster than <see cref="GrpcEndpointOptions.ConsumeRate"/>, counting gaps in its numbering.</summary>
    private sealed class PacedReading(int rate, TimeProvider time, GrpcStream stream, CancellationToken cancelled)
    {
        private readonly Pacer _pacer = new(rate, 1, time);
        private long _lastSeq;

        public long Gaps { get; private set; }

        public async Task<Item?> NextAsync(IAsyncStreamReader<Item> reader)
        {
            await _pacer.WaitTurnAsync(cancelled);
            if (!await reader.MoveNext(cancelled))
            {
                return null;
            }

            Item item = reader.Current;
            stream.OnReceived(item.CalculateSize());
            if (item.Seq != _lastSeq + 1)
            {
                Gaps++;
            }

            _lastSeq = item.Seq;
            return item;
        }
    }
}
