using System.Globalization;
using Backpressure.Client;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Backpressure.Grpc;

/// <summary>
/// Controls the producer on a gRPC channel: for unary calls, the SRE book's adaptive throttling (a call the server keeps
/// refusing is refused locally, with <c>RESOURCE_EXHAUSTED</c>, before it costs the server anything), retries of
/// <c>RESOURCE_EXHAUSTED</c> and <c>UNAVAILABLE</c> within a <see cref="RetryBudget"/>, and <c>grpc-retry-pushback-ms</c>
/// honoured whether or not the channel has a retry policy: while it lasts, new calls fail fast (or wait).
/// </summary>
/// <remarks>
/// One interceptor per channel (one destination): <c>channel.Intercept(new ClientBackpressureInterceptor())</c>.
/// Streaming calls pass through untouched: their outcome is known only as their stream is read, and a channel's retry
/// policy, with its own retry throttling, is the tool for them.
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
    {
        _options = options ?? new GrpcClientBackpressureOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _throttle = _options.Throttle ? new AdaptiveThrottle(_options.Throttling, _time) : null;
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
                    throw current.Refuse($"pushed back for {Milliseconds(pushback)} ms more", "pushed-back", pushback);
                }

                await Task.Delay(pushback, _time, context.Options.CancellationToken).ConfigureAwait(false);
            }

            if (_throttle is not null && !_throttle.TryAcquire())
            {
                throw current.Refuse("refused by the client's adaptive throttle: the server has been refusing most calls", "throttled", TimeSpan.FromSeconds(1));
            }

            current.Started.TrySetResult(current.Call = continuation(request, context));
            try
            {
                TResponse response = await current.Call.ResponseAsync.ConfigureAwait(false);
                _throttle?.RecordAccepted();
                return response;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.ResourceExhausted or StatusCode.Unavailable)
            {
                TimeSpan? told = PushbackOf(e.Trailers);
                if (told is { } wait)
                {
                    _pushback.Extend(wait);
                }

                if (attempt >= _options.MaxRetries || !_budget.TryRetry())
                {
                    throw;
                }

                current.Call.Dispose();
                current.Started = new TaskCompletionSource<AsyncUnaryCall<TResponse>?>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (told is null)
                {
                    double ceiling = _options.RetryDelay.TotalMilliseconds * Math.Pow(2, attempt);
                    await Task.Delay(TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2))), _time, context.Options.CancellationToken)
                        .ConfigureAwait(false);
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

        public RpcException Refuse(string detail, string why, TimeSpan retryAfter)
        {
            LocalStatus = new Status(StatusCode.ResourceExhausted, detail);
            Started.TrySetResult(null);
            var trailers = new Metadata
            {
                { LocalRefusalTrailer, why },
                { BackpressureInterceptor.RetryPushbackTrailer, Milliseconds(retryAfter) },
            };
            return new RpcException(LocalStatus, trailers);
        }
    }
}
