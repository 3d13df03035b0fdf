using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Backpressure.Cli.WebSockets;

/// <summary>
/// <c>bp ws</c>: connects N WebSocket clients for a bounded time. Against a feed, some read slowly
/// and every client counts what it received and which sequence numbers it never saw. Against an
/// ingest endpoint, polite clients stop on <c>flow.pause</c> and go on at <c>flow.resume</c>,
/// rude ones ignore it, and each reads the server's summary at the end.
/// </summary>
internal sealed class WebSocketLoadRunner(WebSocketLoadSettings settings, TimeProvider time)
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    public async Task<IReadOnlyList<WebSocketClientResult>> RunAsync(CancellationToken cancellationToken)
    {
        var clients = Enumerable.Range(0, settings.Clients).Select(i => settings.Ingest
            ? RunClientAsync(i < settings.Slow ? "rude" : "polite", (socket, stop) => RunIngestClientAsync(socket, rude: i < settings.Slow, stop, cancellationToken), cancellationToken)
            : RunClientAsync(i < settings.Slow ? "slow" : "fast", (socket, stop) => RunFeedClientAsync(socket, slow: i < settings.Slow, stop, cancellationToken), cancellationToken));
        return await Task.WhenAll(clients);
    }

    /// <summary>Connects one client and runs it, with a hard stop at the duration plus the close timeout.</summary>
    private async Task<WebSocketClientResult> RunClientAsync(
        string kind, Func<ClientWebSocket, CancellationTokenSource, Task<WebSocketClientResult>> run, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        string? error = await ConnectAsync(socket, cancellationToken);
        if (error is not null)
        {
            return new WebSocketClientResult { Class = kind, Error = error, Ending = "not connected" };
        }

        using var hardStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        hardStop.CancelAfter(settings.Duration + settings.CloseTimeout);
        return await run(socket, hardStop) with { Class = kind };
    }

    private async Task<WebSocketClientResult> RunFeedClientAsync(ClientWebSocket socket, bool slow, CancellationTokenSource hardStop, CancellationToken cancellationToken)
    {
        Task closing = CloseAfterAsync(socket, settings.Duration, hardStop.Token);
        long received = 0, gaps = 0, lastSeq = 0, pauses = 0, resumes = 0, errors = 0;
        var buffer = new ArrayBufferWriter<byte>(4096);
        (bool serverClosed, string ending) = (false, "closed");
        try
        {
            while (true)
            {
                WebSocketMessageType type = await ReceiveMessageAsync(socket, buffer, hardStop.Token);
                if (type == WebSocketMessageType.Close)
                {
                    serverClosed = !closing.IsCompleted;
                    ending = Describe(socket);
                    break;
                }

                Event evt = Read(buffer.WrittenSpan, out long seq);
                switch (evt)
                {
                    case Event.Message:
                        received++;
                        gaps += lastSeq != 0 && seq > lastSeq + 1 ? seq - lastSeq - 1 : 0;
                        lastSeq = Math.Max(lastSeq, seq);
                        break;
                    case Event.Pause:
                        pauses++;
                        break;
                    case Event.Resume:
                        resumes++;
                        break;
                    default:
                        errors++;
                        break;
                }

                if (slow && !closing.IsCompleted)
                {
                    await Task.Delay(settings.ReadDelay, time, hardStop.Token);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            serverClosed = !closing.IsCompleted;
            ending = ex is OperationCanceledException ? "no close from server" : "aborted";
        }

        await Ignore(closing);
        return new WebSocketClientResult
        {
            Class = "", Received = received, Gaps = gaps, LastSeq = lastSeq, Pauses = pauses, Resumes = resumes,
            ErrorEvents = errors, Disconnected = serverClosed, Ending = ending,
        };
    }

    private async Task<WebSocketClientResult> RunIngestClientAsync(ClientWebSocket socket, bool rude, CancellationTokenSource hardStop, CancellationToken cancellationToken)
    {
        var state = new IngestState();
        Task<string> receiving = ReceiveIngestEventsAsync(socket, state, hardStop.Token);
        long sent = 0;
        string payload = new('x', settings.PayloadBytes);
        long start = time.GetTimestamp();

        // A burst of ten: timers are coarser than the interval at high rates, so a few sends may catch up,
        // but after a pause the client goes on at its rate rather than bursting everything it missed.
        Pacer? pacer = settings.SendRate > 0 ? new Pacer(settings.SendRate, 10, time) : null;
        try
        {
            while (time.GetElapsedTime(start) < settings.Duration && socket.State == WebSocketState.Open && !receiving.IsCompleted)
            {
                if (!rude && state.Resumed is { } resumed)
                {
                    await Task.WhenAny(resumed, Task.Delay(settings.Duration - time.GetElapsedTime(start), time, hardStop.Token), receiving);
                    continue;
                }

                if (pacer is not null && pacer.TakeDue(1) == 0)
                {
                    await pacer.NapAsync(hardStop.Token);
                    continue;
                }

                byte[] message = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"seq\":{sent + 1},\"payload\":\"{payload}\"}}"));
                await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, hardStop.Token);
                sent++;
            }

            if (socket.State == WebSocketState.Open)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", hardStop.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
        }

        string ending = await receiving;
        return new WebSocketClientResult
        {
            Class = "", Sent = sent, Pauses = state.Pauses, Resumes = state.Resumes, ErrorEvents = state.Errors,
            Processed = state.Processed, Dropped = state.Dropped, Disconnected = state.ServerClosedFirst, Ending = ending,
        };
    }

    private static async Task<string> ReceiveIngestEventsAsync(ClientWebSocket socket, IngestState state, CancellationToken hardStop)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        try
        {
            while (true)
            {
                if (await ReceiveMessageAsync(socket, buffer, hardStop) == WebSocketMessageType.Close)
                {
                    state.ServerClosedFirst = socket.State == WebSocketState.CloseReceived;
                    state.Release();
                    return Describe(socket);
                }

                using JsonDocument document = JsonDocument.Parse(buffer.WrittenMemory);
                string? name = document.RootElement.TryGetProperty("event", out JsonElement e) ? e.GetString() : null;
                switch (name)
                {
                    case "flow.pause":
                        state.Pause();
                        break;
                    case "flow.resume":
                        state.Resume();
                        break;
                    case "summary":
                        state.Processed = document.RootElement.GetProperty("processed").GetInt64();
                        state.Dropped = document.RootElement.GetProperty("dropped").GetInt64();
                        break;
                    default:
                        state.Errors++;
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or JsonException)
        {
            state.ServerClosedFirst = true;
            state.Release();
            return ex is OperationCanceledException ? "no close from server" : "aborted";
        }
    }

    private static async Task<WebSocketMessageType> ReceiveMessageAsync(ClientWebSocket socket, ArrayBufferWriter<byte> buffer, CancellationToken cancellationToken)
    {
        buffer.ResetWrittenCount();
        while (true)
        {
            ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.GetMemory(4096), cancellationToken);
            buffer.Advance(result.Count);
            if (result.MessageType == WebSocketMessageType.Close || result.EndOfMessage)
            {
                return result.MessageType;
            }
        }
    }

    private async Task<string?> ConnectAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(settings.Url, timeout.Token);
            return null;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return ex.InnerException?.Message ?? ex.Message;
        }
    }

    private async Task CloseAfterAsync(ClientWebSocket socket, TimeSpan after, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(after, time, cancellationToken);
            if (socket.State == WebSocketState.Open)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
    }

    private static async Task Ignore(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Describe(WebSocket socket) =>
        socket.CloseStatus is { } status ? $"{(int)status} {socket.CloseStatusDescription}".Trim() : "closed";

    private static Event Read(ReadOnlySpan<byte> message, out long seq)
    {
        // Feed messages start {"seq":N, so the common case needs no JSON parser, which keeps one core enough for many clients.
        ReadOnlySpan<byte> prefix = "{\"seq\":"u8;
        if (message.StartsWith(prefix) && System.Buffers.Text.Utf8Parser.TryParse(message[prefix.Length..], out seq, out _))
        {
            return Event.Message;
        }

        seq = 0;
        try
        {
            var reader = new Utf8JsonReader(message);
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            JsonElement root = document.RootElement;
            if (root.TryGetProperty("seq", out JsonElement s) && s.TryGetInt64(out seq) && !root.TryGetProperty("event", out _))
            {
                return Event.Message;
            }

            return root.TryGetProperty("event", out JsonElement e) ? e.GetString() switch
            {
                "flow.pause" => Event.Pause,
                "flow.resume" => Event.Resume,
                _ => Event.Other,
            } : Event.Other;
        }
        catch (JsonException)
        {
            return Event.Other;
        }
    }

    private enum Event
    {
        Message,
        Pause,
        Resume,
        Other,
    }

    private sealed class IngestState
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource? _resumed;

        public long Pauses { get; private set; }

        public long Resumes { get; private set; }

        public long Errors { get; set; }

        public long? Processed { get; set; }

        public long? Dropped { get; set; }

        public bool ServerClosedFirst { get; set; }

        /// <summary>While paused, completes at the next resume; null while not paused.</summary>
        public Task? Resumed
        {
            get
            {
                lock (_gate)
                {
                    return _resumed?.Task;
                }
            }
        }

        public void Pause()
        {
            lock (_gate)
            {
                Pauses++;
                _resumed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public void Resume()
        {
            lock (_gate)
            {
                Resumes++;
                Release();
            }
        }

        /// <summary>Wakes a sender waiting for a resume, without counting one (the connection ended).</summary>
        public void Release()
        {
            lock (_gate)
            {
                _resumed?.TrySetResult();
                _resumed = null;
            }
        }
    }
}
