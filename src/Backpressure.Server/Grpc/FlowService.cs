using Backpressure.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Backpressure.AspNetCore.Shutdown;
using Backpressure.Queues;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Backpressure.Server.Grpc;

/// <summary>
/// The <c>backpressure.v1.Flow</c> service (its streams end with UNAVAILABLE when the server drains, if it does). Nothing here paces a sender to its reader: a write
/// simply waits inside <c>WriteAsync</c> while the reader's HTTP/2 window is closed, and a reader
/// that does not read keeps the sender's window closed. The only pacing in the code is the
/// server's own deliberately slow reading (<see cref="GrpcEndpointOptions.ConsumeRate"/>) and a
/// subscriber's optional rate.
/// </summary>
internal sealed class FlowService(IOptions<GrpcEndpointOptions> options, GrpcStreams streams, TimeProvider time, ShutdownDrain? drain = null, QueueMemoryBudget? budget = null)
    : Flow.FlowBase
{
    private readonly GrpcEndpointOptions _limits = options.Value;

    public override async Task Subscribe(SubscribeRequest request, IServerStreamWriter<Item> responseStream, ServerCallContext context)
    {
        TimeSpan duration = CheckSubscribe(request);
        using GrpcStream stream = streams.Open(context.Method);
        using CancellationTokenSource call = WhileServing(context, stream);
        // The call's payload lives as long as the call: it is held against the memory budget, or the call is not taken.
        if (!Reserve(request.PayloadBytes, stream))
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, "the server's memory budget for messages in flight is full"));
        }

        try
        {
            await SubscribeAsync(request, duration, responseStream, stream, call.Token);
        }
        catch (OperationCanceledException) when (Ended(context, stream) is { } ended)
        {
            throw ended;
        }
        finally
        {
            budget?.Release(request.PayloadBytes);
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
        using CancellationTokenSource call = WhileServing(context, stream);
        long started = time.GetTimestamp();
        var reading = new PacedReading(_limits.ConsumeRate, time, stream, call.Token);
        try
        {
            while (await reading.NextAsync(requestStream) is not null)
            {
            }
        }
        catch (OperationCanceledException) when (Ended(context, stream) is { } ended)
        {
            throw ended;
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
        using CancellationTokenSource call = WhileServing(context, stream);
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
        catch (OperationCanceledException) when (Ended(context, stream) is { } ended)
        {
            throw ended;
        }
    }

    private const int EnhanceYourCalm = 0xb;

    // A stream is cancelled when its client goes, when the server begins to stop, and when it is shed for memory.
    private CancellationTokenSource WhileServing(ServerCallContext context, GrpcStream stream)
    {
        // A shed call's write is cut off mid-message, after which no status can follow on the stream: it is reset first,
        // with ENHANCE_YOUR_CALM, which gRPC clients read as RESOURCE_EXHAUSTED (gRPC's PROTOCOL-HTTP2.md, "Errors").
        IHttpResetFeature? reset = context.GetHttpContext().Features.Get<IHttpResetFeature>();
        stream.OnShed = () => reset?.Reset(EnhanceYourCalm);
        return CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, drain?.Draining ?? CancellationToken.None, stream.Shedding);
    }

    // Why a cancelled call ended, as the status its client should see; null when the client itself went away.
    private RpcException? Ended(ServerCallContext context, GrpcStream stream)
    {
        if (context.CancellationToken.IsCancellationRequested)
        {
            return null;
        }

        if (stream.WasShed)
        {
            return new RpcException(new Status(
                StatusCode.ResourceExhausted, "shed: the reader waited longest while the server's memory budget for messages in flight was full"));
        }

        // UNAVAILABLE: the status gRPC clients retry, elsewhere.
        return drain is { IsDraining: true } ? new RpcException(new Status(StatusCode.Unavailable, "server shutting down")) : null;
    }

    // Takes bytes from the memory budget; when it is full, the call whose write has waited longest is shed to make room. False when still none.
    private bool Reserve(long bytes, GrpcStream stream)
    {
        if (budget is null || budget.TryReserve(bytes))
        {
            return true;
        }

        return streams.ShedSlowest(stream) && budget.TryReserve(bytes);
    }

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
        int size = item.CalculateSize();
        // The message is held (serialized, in the transport's buffer) until its write completes. A fast reader's
        // write goes ahead even when the budget is still full after shedding the slowest: it completes at once.
        bool reserved = Reserve(size, stream);
        try
        {
            Task write = writer.WriteAsync(item, cancelled);
            long waited = 0;
            if (!write.IsCompleted)
            {
                long from = time.GetTimestamp();
                stream.OnBlocked(from);
                await write;
                waited = time.GetTimestamp() - from;
            }

            await write;
            stream.OnSent(size, waited);
        }
        finally
        {
            if (reserved)
            {
                budget?.Release(size);
            }
        }
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
