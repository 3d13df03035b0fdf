using System.Globalization;
using Backpressure.Client;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Backpressure.Grpc;

/// <summary>
/// Controls the producer on a gRPC channel: the SRE book's adaptive throttling (a call the server keeps refusing is
/// refused locally, with <c>RESOURCE_EXHAUSTED</c>, before it costs the server anything), retries of unary calls refused
/// with <c>RESOURCE_EXHAUSTED</c> or <c>UNAVAILABLE</c> within a <see cref="RetryBudget"/>, and
/// <c>grpc-retry-pushback-ms</c> honoured whether or not the channel has a retry policy: while it lasts, new calls fail
/// fast (or, unary ones, wait). A unary attempt the throttle refuses is retried as one the server refused would be,
/// within the same attempts and budget.
/// </summary>
/// <remarks>
/// <para>One interceptor per channel (one destination): <c>channel.Intercept(new ClientBackpressureInterceptor())</c>.</para>
/// <para>
/// Streaming calls (server, client and bidirectional) share the throttle and the pushback with unary ones: a stream
/// is refused locally while the server keeps refusing, or while a pushback lasts (always failing fast: a stream's
/// requests cannot be held back without buffering them), and its outcome is learnt as it is read, so a stream the server
/// refuses teaches the throttle and the pushback as a unary call does. Streams are never retried: their messages may
/// have been partly consumed, and a channel's retry policy, with its own throttling, is the tool for that.
/// </para>
/// </remarks>
public sealed class ClientBackpressureInterceptor : Interceptor
{
    /// <summary>The metadata a locally refused call's exception carries in its trailers: <c>throttled</c> or <c>pushed-back</c>.</summary>
    public const string LocalRefusalTrailer = "backpressure-local";

    private readonly GrpcClientBackpressureOptions _options;
    private readonly TimeProvider _time;
    private readonly AdaptiveThrottle? _throttle;
    private readonly RetryBudget _budget;
    private readonly Pushback _pushback;

    /// <summary>Creates the interceptor.</summary>
    /// <param name="options">The options; null for the defaults. Validated here.</param>
    /// <param name="timeProvider">The clock of windows and pushbacks; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public ClientBackpressureInterceptor(GrpcClientBackpressureOptions? options = null, TimeProvider? timeProvider = null)
        : this(options, timeProvider, throttleDraws: null)
    {
    }

    /// <param name="options">The options; null for the defaults. Validated here.</param>
    /// <param name="timeProvider">The clock of windows and pushbacks; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="throttleDraws">The throttle's draws from [0, 1); <see cref="Random.Shared"/> when null (tests script them).</param>
    internal ClientBackpressureInterceptor(GrpcClientBackpressureOptions? options, TimeProvider? timeProvider, Func<double>? throttleDraws)
    {
        _options = options ?? new GrpcClientBackpressureOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _throttle = _options.Throttle ? new AdaptiveThrottle(_options.Throttling, _time, throttleDraws) : null;
        _budget = new RetryBudget(_options.RetryBudget, _time);
        _pushback = new Pushback(_time);
    }

    /// <inheritdoc />
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        _budget.RecordRequest();
        var current = new CurrentCall<TResponse>();
        Task<TResponse> response = RunAsync(request, context, continuation, current);
        return new AsyncUnaryCall<TResponse>(
            response,
            HeadersAsync(current),
            () => current.Call?.GetStatus() ?? current.LocalStatus,
            () => current.Call?.GetTrailers() ?? [],
            () => current.Call?.Dispose());
    }

    private async Task<TResponse> RunAsync<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation,
        CurrentCall<TResponse> current)
        where TRequest : class
        where TResponse : class
    {
        for (int attempt = 0; ; attempt++)
        {
            TimeSpan pushback = _pushback.Remaining;
            if (pushback > TimeSpan.Zero)
            {
                if (_options.FailFastWhilePushedBack)
                {
                    throw current.Refuse(PushedBack(pushback));
                }

                await Task.Delay(pushback, _time, context.Options.CancellationToken).ConfigureAwait(false);
            }

            if (Throttles())
            {
                // Retried as a refusal from the server would be, within the same attempts and budget.
                if (attempt >= _options.MaxRetries || !_budget.TryRetry())
                {
                    throw current.Refuse(ThrottledRefusal());
                }

                await BackOffAsync(attempt, context.Options.CancellationToken).ConfigureAwait(false);
                continue;
            }

            current.Started.TrySetResult(current.Call = continuation(request, context));
            try
            {
                TResponse response = await current.Call.ResponseAsync.ConfigureAwait(false);
                _throttle?.RecordAccepted();
                return response;
            }
            catch (RpcException e) when (!IsRefusal(e.StatusCode))
            {
                if (IsAnswer(e.StatusCode))
                {
                    _throttle?.RecordAccepted();
                }

                throw;
            }
            catch (RpcException e)
            {
                TimeSpan? told = LearnFromRefusal(e);

                if (attempt >= _options.MaxRetries || !_budget.TryRetry())
                {
                    throw;
                }

                current.Call.Dispose();
                current.Started = new TaskCompletionSource<AsyncUnaryCall<TResponse>?>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (told is null)
                {
                    await BackOffAsync(attempt, context.Options.CancellationToken).ConfigureAwait(false);
                }
                else if (_options.FailFastWhilePushedBack)
                {
                    // Told to stay away: a retry now would only be failed fast; wait the pushback, then retry once it ends.
                    // (Without fail-fast, the loop's pushback check waits it out.)
                    await Task.Delay(told.Value, _time, context.Options.CancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <inheritdoc />
    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (RefuseStream() is { } refusal)
        {
            return new AsyncServerStreamingCall<TResponse>(
                new RefusedStream<TResponse>(refusal), Task.FromResult(new Metadata()), () => refusal.Status, () => refusal.Trailers, static () => { });
        }

        AsyncServerStreamingCall<TResponse> call = continuation(request, context);
        var outcome = new StreamOutcome(this);
        return new AsyncServerStreamingCall<TResponse>(
            new ObservedStream<TResponse>(call.ResponseStream, outcome), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    /// <inheritdoc />
    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (RefuseStream() is { } refusal)
        {
            return new AsyncClientStreamingCall<TRequest, TResponse>(
                new RefusedStream<TRequest>(refusal), Task.FromException<TResponse>(refusal), Task.FromResult(new Metadata()),
                () => refusal.Status, () => refusal.Trailers, static () => { });
        }

        AsyncClientStreamingCall<TRequest, TResponse> call = continuation(context);
        var outcome = new StreamOutcome(this);
        return new AsyncClientStreamingCall<TRequest, TResponse>(
            call.RequestStream, outcome.ObserveAsync(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    /// <inheritdoc />
    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (RefuseStream() is { } refusal)
        {
            return new AsyncDuplexStreamingCall<TRequest, TResponse>(
                new RefusedStream<TRequest>(refusal), new RefusedStream<TResponse>(refusal), Task.FromResult(new Metadata()),
                () => refusal.Status, () => refusal.Trailers, static () => { });
        }

        AsyncDuplexStreamingCall<TRequest, TResponse> call = continuation(context);
        var outcome = new StreamOutcome(this);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(
            call.RequestStream, new ObservedStream<TResponse>(call.ResponseStream, outcome), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private Task BackOffAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(_options.RetryBackoff(attempt, Random.Shared.NextDouble()), _time, cancellationToken);

    // A stream is sent unless a pushback lasts or the throttle refuses it; it is counted as a request for the budget either way.
    private RpcException? RefuseStream()
    {
        _budget.RecordRequest();
        TimeSpan pushback = _pushback.Remaining;
        return pushback > TimeSpan.Zero ? PushedBack(pushback) : Throttles() ? ThrottledRefusal() : null;
    }

    // Whether the throttle refuses a call about to be sent.
    private bool Throttles() => _throttle is not null && !_throttle.TryAcquire();

    private RpcException ThrottledRefusal() =>
        LocalRefusal("refused by the client's adaptive throttle: the server has been refusing most calls", "throttled", _pushback.ThrottledWait);

    private static RpcException PushedBack(TimeSpan pushback) =>
        LocalRefusal($"pushed back for {Milliseconds(pushback)} ms more", "pushed-back", pushback);

    // What the server refused for overload: retried (unary), and taught to the pushback.
    private static bool IsRefusal(StatusCode code) => code is StatusCode.ResourceExhausted or StatusCode.Unavailable;

    // An error the server answered a call it took with (not found, invalid argument, ...) is an accept, as the SRE book
    // counts them; a refusal, a deadline passed (perhaps in the server's queue) or a cancellation is not.
    private static bool IsAnswer(StatusCode code) =>
        !IsRefusal(code) && code is not (StatusCode.DeadlineExceeded or StatusCode.Cancelled);

    // A refusal's pushback, if it carried one, holds further calls; returned for the retry's wait.
    private TimeSpan? LearnFromRefusal(RpcException refusal)
    {
        TimeSpan? told = PushbackOf(refusal.Trailers);
        if (told is { } wait)
        {
            _pushback.Extend(wait);
        }

        return told;
    }

    private static RpcException LocalRefusal(string detail, string why, TimeSpan retryAfter) =>
        new(new Status(StatusCode.ResourceExhausted, detail), new Metadata
        {
            { LocalRefusalTrailer, why },
            { BackpressureInterceptor.RetryPushbackTrailer, Milliseconds(retryAfter) },
        });

    private static async Task<Metadata> HeadersAsync<TResponse>(CurrentCall<TResponse> current)
    {
        AsyncUnaryCall<TResponse>? call = await current.Started.Task.ConfigureAwait(false);
        return call is null ? [] : await call.ResponseHeadersAsync.ConfigureAwait(false);
    }

    private static TimeSpan? PushbackOf(Metadata trailers) =>
        trailers.GetValue(BackpressureInterceptor.RetryPushbackTrailer) is { } text
        && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long ms)
            ? TimeSpan.FromMilliseconds(ms)
            : null;

    private static string Milliseconds(TimeSpan wait) => Math.Ceiling(wait.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    /// <summary>The call a unary invocation is on now (it changes with retries), and what to report when none was made.</summary>
    private sealed class CurrentCall<TResponse>
    {
        public AsyncUnaryCall<TResponse>? Call { get; set; }

        public TaskCompletionSource<AsyncUnaryCall<TResponse>?> Started { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Status LocalStatus { get; private set; }

        public RpcException Refuse(RpcException refusal)
        {
            LocalStatus = refusal.Status;
            Started.TrySetResult(null);
            return refusal;
        }
    }

    /// <summary>
    /// What one stream taught the throttle and the pushback, learnt once: the first message, or its end, is an accept;
    /// a <c>RESOURCE_EXHAUSTED</c> or <c>UNAVAILABLE</c> ending is a refusal, whose pushback holds further calls; any other
    /// error but a deadline or a cancellation is the server's answer to a call it took, an accept.
    /// </summary>
    private sealed class StreamOutcome(ClientBackpressureInterceptor owner)
    {
        private int _learnt;

        public bool IsLearnt => Volatile.Read(ref _learnt) != 0;

        public void Accepted()
        {
            if (Interlocked.Exchange(ref _learnt, 1) == 0)
            {
                owner._throttle?.RecordAccepted();
            }
        }

        public void Failed(RpcException e)
        {
            if (IsAnswer(e.StatusCode))
            {
                Accepted();
            }
            else if (Interlocked.Exchange(ref _learnt, 1) == 0 && IsRefusal(e.StatusCode))
            {
                owner.LearnFromRefusal(e);
            }
        }

        public async Task<T> ObserveAsync<T>(Task<T> response)
        {
            try
            {
                T value = await response.ConfigureAwait(false);
                Accepted();
                return value;
            }
            catch (RpcException e)
            {
                Failed(e);
                throw;
            }
        }
    }

    /// <summary>
    /// A response stream read through, telling its <see cref="StreamOutcome"/> what it saw; once that is learnt (at the
    /// first message), every later read goes straight to the stream, with no wrapper of its own.
    /// </summary>
    private sealed class ObservedStream<T>(IAsyncStreamReader<T> inner, StreamOutcome outcome) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public Task<bool> MoveNext(CancellationToken cancellationToken) =>
            outcome.IsLearnt ? inner.MoveNext(cancellationToken) : ObserveAsync(cancellationToken);

        private async Task<bool> ObserveAsync(CancellationToken cancellationToken)
        {
            try
            {
                bool more = await inner.MoveNext(cancellationToken).ConfigureAwait(false);
                outcome.Accepted();
                return more;
            }
            catch (RpcException e)
            {
                outcome.Failed(e);
                throw;
            }
        }
    }

    /// <summary>Both ends of a stream refused before it was sent: every read and write fails with the refusal.</summary>
    private sealed class RefusedStream<T>(RpcException refusal) : IAsyncStreamReader<T>, IClientStreamWriter<T>
    {
        public T Current => throw new InvalidOperationException("A refused stream has no message.");

        public WriteOptions? WriteOptions { get; set; }

        public Task<bool> MoveNext(CancellationToken cancellationToken) => Task.FromException<bool>(refusal);

        public Task WriteAsync(T message) => Task.FromException(refusal);

        public Task CompleteAsync() => Task.CompletedTask;
    }
}
