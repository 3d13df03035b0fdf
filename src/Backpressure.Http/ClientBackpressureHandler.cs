using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Backpressure.Client;

namespace Backpressure.Http;

/// <summary>
/// Controls the producer: a <see cref="DelegatingHandler"/> for <see cref="HttpClient"/> that keeps a client from turning a
/// server's overload into more load. Per destination it throttles calls locally while the server keeps refusing (the SRE
/// book's adaptive throttling), retries a 429 or 503 at most <see cref="Backpressure.Client.ClientBackpressureOptions.MaxRetries"/> times and only
/// within a <see cref="RetryBudget"/>, and honours <c>Retry-After</c> (and <c>RateLimit: r=0; t=N</c>): after being told to
/// come back in N seconds it holds further calls to that destination until then, or fails them fast.
/// </summary>
/// <remarks>
/// <para>
/// Register it with <c>services.AddHttpClient(...).AddClientBackpressure(...)</c>, which keeps each destination's state
/// across the handlers the factory recycles. It composes with Microsoft.Extensions.Http.Resilience: put it inside
/// (after) a resilience handler whose own retries should be counted and throttled, or use its retries alone.
/// </para>
/// <para>
/// A call refused locally never reaches the server; it is answered <c>429</c> by the client itself, with
/// <c>Retry-After</c> and <c>Backpressure-Local: throttled</c> (or <c>held</c>), so callers handle it as they handle the
/// server's own 429.
/// </para>
/// </remarks>
public sealed class ClientBackpressureHandler : DelegatingHandler
{
    /// <summary>The header on a 429 the client answered itself, saying why: <c>throttled</c> or <c>held</c>.</summary>
    public const string LocalRefusalHeader = "Backpressure-Local";

    internal const string LocalRefusalReason = "Refused by the client";

    private static readonly TimeSpan s_throttledRetryAfter = TimeSpan.FromSeconds(1);

    private readonly ClientBackpressureState _state;

    /// <summary>Creates a handler with state of its own (for use without the HttpClient factory).</summary>
    /// <param name="options">The options; null for the defaults. Validated here.</param>
    /// <param name="timeProvider">The clock of windows and holds; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public ClientBackpressureHandler(HttpClientBackpressureOptions? options = null, TimeProvider? timeProvider = null)
        : this(new ClientBackpressureState(options ?? new HttpClientBackpressureOptions(), timeProvider ?? TimeProvider.System, meterFactory: null))
    {
    }

    internal ClientBackpressureHandler(ClientBackpressureState state) => _state = state;

    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ClientBackpressureState.Destination destination = _state.For(request.RequestUri);
        destination.Budget.RecordRequest();

        // The first attempt is refused without an await, so that a refusal costs no async state machine or task of its
        // own (with ShareLocalRefusals, nothing at all).
        return RefusalOf(request, destination, out TimeSpan hold) ?? SendAsyncCore(request, destination, hold, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendAsyncCore(
        HttpRequestMessage request, ClientBackpressureState.Destination destination, TimeSpan firstHold, CancellationToken cancellationToken)
    {
        HttpClientBackpressureOptions options = _state.Options;
        TimeProvider time = _state.Time;
        bool retriable = options.RetryUnsafeMethods || IsIdempotentWithoutBody(request);
        TimeSpan hold = firstHold;
        for (int attempt = 0; ; attempt++)
        {
            if (attempt > 0 && RefusalOf(request, destination, out hold) is { } refused)
            {
                return await refused.ConfigureAwait(false);
            }

            if (hold > TimeSpan.Zero)
            {
                _state.Count(destination, "held");
                await Task.Delay(hold, time, cancellationToken).ConfigureAwait(false);
                if (ThrottledOf(request, destination) is { } throttled)
                {
                    return await throttled.ConfigureAwait(false);
                }
            }

            _state.Count(destination, "sent");
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable))
            {
                destination.Throttle?.RecordAccepted();
                return response;
            }

            TimeSpan? told = options.RetryAfter == RetryAfterHandling.Ignore ? null : RetryAfterOf(response, time);
            bool holdsEveryCall = told >= options.HoldEveryCallFrom;
            if (holdsEveryCall)
            {
                destination.Hold.Extend(told!.Value);
            }

            if (attempt >= options.MaxRetries || !retriable)
            {
                return response;
            }

            if (!destination.Budget.TryRetry())
            {
                _state.Count(destination, "budget_exhausted");
                return response;
            }

            _state.Count(destination, "retried");
            response.Dispose();
            if (told is null)
            {
                // No word from the server on when: exponential backoff with full jitter (AWS's "Exponential Backoff And Jitter").
                double ceiling = options.RetryDelay.TotalMilliseconds * Math.Pow(2, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(ceiling * (0.5 + (_state.Random() / 2))), time, cancellationToken).ConfigureAwait(false);
            }
            else if (!holdsEveryCall)
            {
                // A short wait holds only this call's own retry (the next attempt's hold check waits out a long one).
                await Task.Delay(told.Value, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// This attempt's local refusal, if any: held back by a <c>Retry-After</c> it will not wait out, or throttled. Null
    /// to go on, after waiting out <paramref name="hold"/> (and only then asking the throttle) when that is not zero.
    /// </summary>
    private Task<HttpResponseMessage>? RefusalOf(HttpRequestMessage request, ClientBackpressureState.Destination destination, out TimeSpan hold)
    {
        HttpClientBackpressureOptions options = _state.Options;
        hold = destination.Hold.Remaining;
        if (hold > TimeSpan.Zero && options.RetryAfter != RetryAfterHandling.Ignore)
        {
            if (options.RetryAfter == RetryAfterHandling.FailFast || hold > options.MaxHold)
            {
                _state.Count(destination, "refused_locally");
                return Refuse(request, hold, "held");
            }

            return null;
        }

        hold = TimeSpan.Zero;
        return ThrottledOf(request, destination);
    }

    private Task<HttpResponseMessage>? ThrottledOf(HttpRequestMessage request, ClientBackpressureState.Destination destination)
    {
        if (destination.Throttle is { } throttle && !throttle.TryAcquire())
        {
            _state.Count(destination, "refused_locally");
            return Refuse(request, s_throttledRetryAfter, "throttled");
        }

        return null;
    }

    private static bool IsIdempotentWithoutBody(HttpRequestMessage request) =>
        request.Content is null
        && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options
            || request.Method == HttpMethod.Delete || request.Method == HttpMethod.Put);

    /// <summary>The wait the server asked for: <c>Retry-After</c> (seconds or a date), else <c>RateLimit</c>'s <c>t</c> when <c>r=0</c>.</summary>
    private static TimeSpan? RetryAfterOf(HttpResponseMessage response, TimeProvider time)
    {
        if (response.Headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
            {
                return delta;
            }

            if (retryAfter.Date is { } date)
            {
                return date - time.GetUtcNow() is { Ticks: > 0 } left ? left : TimeSpan.Zero;
            }
        }

        if (response.Headers.TryGetValues("RateLimit", out IEnumerable<string>? values))
        {
            foreach (string value in values)
            {
                if (value.Contains(";r=0", StringComparison.Ordinal) && value.IndexOf(";t=", StringComparison.Ordinal) is int at and >= 0
                    && long.TryParse(value.AsSpan(at + 3).TrimEnd(), NumberStyles.None, CultureInfo.InvariantCulture, out long seconds))
                {
                    return TimeSpan.FromSeconds(seconds);
                }
            }
        }

        return null;
    }

    private Task<HttpResponseMessage> Refuse(HttpRequestMessage request, TimeSpan retryAfter, string why)
    {
        long seconds = (long)Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds));
        if (_state.Options.ShareLocalRefusals
            && (why == "throttled" ? SharedRefusal.Throttled : SharedRefusal.Held(seconds)) is { } shared)
        {
            return shared;
        }

        var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests)
        {
            RequestMessage = request,
            ReasonPhrase = LocalRefusalReason,
        };
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds));
        response.Headers.TryAddWithoutValidation(LocalRefusalHeader, why);
        return Task.FromResult(response);
    }
}
