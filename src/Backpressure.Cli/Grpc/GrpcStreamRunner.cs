using System.Globalization;
using Backpressure.Cli.Load;
using Backpressure.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Backpressure.Cli.Grpc;

/// <summary>
/// Runs <c>bp grpc</c>: <see cref="GrpcRunSettings.Streams"/> calls of one kind at once, each for
/// a bounded time, over one channel. Nothing here paces a writer: a write that finds the reader's
/// window closed simply takes longer, and that time is what the result calls waiting.
/// </summary>
internal sealed class GrpcStreamRunner(GrpcRunSettings settings, TimeProvider time)
{
    private const string PushbackTrailer = "grpc-retry-pushback-ms";

    public async Task<IReadOnlyList<GrpcStreamResult>> RunAsync(CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler
        {
            // Past one connection's stream limit, calls open further connections rather than queue for a free stream.
            EnableMultipleHttp2Connections = true,
            InitialHttp2StreamWindowSize = settings.WindowBytes ?? 65_535,
        };
        using var channel = GrpcChannel.ForAddress(settings.Address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        });
        var client = new Flow.FlowClient(channel);
        var calls = Enumerable.Range(0, settings.Streams).Select(_ => Task.Run(
            () => settings.Call == GrpcCall.Subscribe ? SubscribeAsync(client, cancellationToken) : UploadAsync(client, cancellationToken),
            cancellationToken));
        return await Task.WhenAll(calls);
    }

    private async Task<GrpcStreamResult> SubscribeAsync(Flow.FlowClient client, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.Duration);
        long started = time.GetTimestamp();
        var age = new LatencyRecorder();
        long messages = 0, bytes = 0, gaps = 0, lastSeq = 0, senderWaitedMicros = 0;
        string status = nameof(StatusCode.OK);
        string? detail = null;
        long? pushback = null;
        try
        {
            using var call = client.Subscribe(new SubscribeRequest { PayloadBytes = settings.PayloadBytes, Rate = settings.Rate }, cancellationToken: deadline.Token);
            await foreach (Item item in call.ResponseStream.ReadAllAsync(deadline.Token))
            {
                messages++;
                bytes += item.Payload.Length;
                gaps += item.Seq == lastSeq + 1 ? 0 : 1;
                lastSeq = item.Seq;
                senderWaitedMicros = item.SenderWaitedMicros;
                age.Record(time.GetUtcNow() - DateTimeOffset.UnixEpoch.AddTicks(item.SentAtMicros * TimeSpan.TicksPerMicrosecond));
                if (settings.ReadDelay > TimeSpan.Zero)
                {
                    await Task.Delay(settings.ReadDelay, time, deadline.Token);
                }
            }
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // We ended the call at its deadline; the client reports that as Cancelled, or, when the cancellation
            // races a read in progress, as Unavailable with an aborted request. Either way it is the normal end.
            status = nameof(StatusCode.Cancelled);
        }
        catch (RpcException e)
        {
            (status, detail, pushback) = Describe(e);
        }

        return new GrpcStreamResult
        {
            Status = status,
            Detail = detail,
            PushbackMilliseconds = pushback,
            Messages = messages,
            Bytes = bytes,
            Gaps = gaps,
            SenderWaited = TimeSpan.FromMicroseconds(senderWaitedMicros),
            AgeP50Milliseconds = age.Count == 0 ? null : age.Percentile(50).TotalMilliseconds,
            AgeP99Milliseconds = age.Count == 0 ? null : age.Percentile(99).TotalMilliseconds,
            Elapsed = time.GetElapsedTime(started),
        };
    }

    private async Task<GrpcStreamResult> UploadAsync(Flow.FlowClient client, CancellationToken cancellationToken)
    {
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        abandon.CancelAfter(settings.Duration + settings.DrainTimeout);
        long started = time.GetTimestamp();
        ByteString payload = UnsafeByteOperations.UnsafeWrap(new byte[settings.PayloadBytes]);
        Pacer? pacer = settings.Rate > 0 ? new Pacer(settings.Rate, timeProvider: time) : null;
        long messages = 0, waitedTicks = 0;
        try
        {
            using var call = client.Upload(cancellationToken: abandon.Token);
            while (time.GetElapsedTime(started) < settings.Duration)
            {
                if (pacer is not null)
                {
                    await pacer.WaitTurnAsync(abandon.Token);
                }

                var item = new Item { Seq = messages + 1, SentAtMicros = (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond, Payload = payload };
                // As on the server, only a write that could not complete at once waited (on the server's window).
                Task write = call.RequestStream.WriteAsync(item, abandon.Token);
                if (!write.IsCompleted)
                {
                    long before = time.GetTimestamp();
                    await write;
                    waitedTicks += time.GetTimestamp() - before;
                }

                await write;
                messages++;
            }

            await call.RequestStream.CompleteAsync();
            UploadSummary summary = await call.ResponseAsync;
            return Upload(nameof(StatusCode.OK), null, null, summary);
        }
        catch (RpcException e)
        {
            var (status, detail, pushback) = Describe(e);
            return Upload(status, detail, pushback, null);
        }

        GrpcStreamResult Upload(string status, string? detail, long? pushback, UploadSummary? summary) => new()
        {
            Status = status,
            Detail = detail,
            PushbackMilliseconds = pushback,
            Messages = messages,
            Bytes = messages * settings.PayloadBytes,
            Gaps = summary?.Gaps ?? 0,
            SenderWaited = time.GetElapsedTime(0, waitedTicks),
            ServerReceived = summary?.Received,
            Elapsed = time.GetElapsedTime(started),
        };
    }

    private static (string Status, string? Detail, long? Pushback) Describe(RpcException e)
    {
        string? pushback = e.Trailers.GetValue(PushbackTrailer);
        return (e.StatusCode.ToString(), e.Status.Detail,
            long.TryParse(pushback, NumberStyles.None, CultureInfo.InvariantCulture, out long ms) ? ms : null);
    }
}
