using System.Net;
using System.Net.Http.Headers;
using Backpressure.Client;

namespace Backpressure.Http;

/// <summary>
/// Controls the producer: a <see cref="DelegatingHandler"/> for <see cref="HttpClient"/> that keeps a client from turning a
/// server's overload into more load. Per destination it throttles calls locally while the server keeps refusing (the SRE
/// book's adaptive throttling), retries a 429 or 503 at most <see cref="Backpressure.Client.ClientBackpressureOptions.MaxRetries"/> times and only
/// within a <see cref="RetryBudget"/>, and honours the wait the server asks for (<see cref="ServerRetryAfter"/>: <c>Retry-After-Ms</c>, <c>Retry-After</c>, or
/// <c>RateLimit: r=0; t=N</c>): after being told to come back later it holds further calls to that destination until then, or fails them fast. An attempt the
/// throttle refuses is retried as one the server refused would be (after a backoff, within the same attempts and budget),
/// so the throttle thins what reaches the server without failing a call that a later attempt gets through: answered
/// locally only when no retry is left, in our retry storm that kept goodput at that of clients which never retry.
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
        bool retriable = _state.Options.RetryUnsafeMethods || IsIdempotentWithoutBody(request);

        // The first attempt is refused without an await where it can be, so that a refusal costs no async state machine
        // or task of its own (with ShareLocalRefusals, nothing at all).
        LocalVerdict first = Look(destination, out TimeSpan hold);
        if (first == LocalVerdict.Held)
        {
            return RefuseLocally(request, destination, LocalVerdict.Held, hold);
        }

        if (first == LocalVerdict.Throttled)
        {
            if (!MayRetry(destination, attempt: 0, retriable))
            {
                return RefuseLocally(request, destination, LocalVerdict.Throttled);
            }

            first = LocalVerdict.BackOff;
        }

        return SendAsyncCore(request, destination, retriable, first, hold, cancellationToken);
    }

    // `verdict` and `hold` are what the first attempt's look found: Send, Wait, or BackOff (a throttled first attempt
    // whose retry is granted); a held or finally throttled first attempt was refused before this.
    private async Task<HttpResponseMessage> SendAsyncCore(
        HttpRequestMessage request, ClientBackpressureState.Destination destination, bool retriable, LocalVerdict verdict, TimeSpan hold,
        CancellationToken cancellationToken)
    {
        HttpClientBackpressureOptions options = _state.Options;
        TimeProvider time = _state.Time;
        for (int attempt = 0; ; attempt++)
        {
            if (attempt > 0)
            {
                verdict = Look(destination, out hold);
                if (verdict == LocalVerdict.Held)
                {
                    return await RefuseLocally(request, destination, LocalVerdict.Held, hold).ConfigureAwait(false);
                }
            }

            if (verdict == LocalVerdict.Wait)
            {
                _state.Count(destination, "held");
                await Task.Delay(hold, time, cancellationToken).ConfigureAwait(false);
                verdict = Throttles(destination) ? LocalVerdict.Throttled : LocalVerdict.Send;
            }

            if (verdict == LocalVerdict.Throttled)
            {
                // Refused by the throttle: retried as a refusal from the server would be, within the same attempts and budget.
                if (!MayRetry(destination, attempt, retriable))
                {
                    return await RefuseLocally(request, destination, LocalVerdict.Throttled).ConfigureAwait(false);
                }

                verdict = LocalVerdict.BackOff;
            }

            if (verdict == LocalVerdict.BackOff)
            {
                _state.Count(destination, "retried");
                await BackOffAsync(attempt, cancellationToken).ConfigureAwait(false);
                continue;
            }

            _state.Count(destination, "sent");
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable))
            {
                destination.Throttle?.RecordAccepted();
                return response;
            }

            TimeSpan? told = options.RetryAfter == RetryAfterHandling.Ignore ? null : ServerRetryAfter.Read(response, time);
            bool holdsEveryCall = told >= options.HoldEveryCallFrom;
            if (holdsEveryCall)
            {
                destination.Hold.Extend(told!.Value);
            }
            else if (told is { } wait)
            {
                destination.Hold.Note(wait);
            }

            if (!MayRetry(destination, attempt, retriable))
            {
                return response;
            }

            _state.Count(destination, "retried");
            response.Dispose();
            if (told is null)
            {
                await BackOffAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
            else if (!holdsEveryCall)
            {
                // A short wait holds only this call's own retry (the next attempt's look waits out a long one).
                await Task.Delay(told.Value, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>What the client itself says of an attempt before sending it.</summary>
    private enum LocalVerdict
    {
        /// <summary>Send it.</summary>
        Send,

        /// <summary>Wait out the destination's <c>Retry-After</c>, then ask the throttle.</summary>
        Wait,

        /// <summary>Refuse it: held back by a <c>Retry-After</c> it will not wait out.</summary>
        Held,

        /// <summary>The throttle refused it.</summary>
        Throttled,

        /// <summary>The throttle refused it and a retry is granted: back off, then look again.</summary>
        BackOff,
    }

    private LocalVerdict Look(ClientBackpressureState.Destination destination, out TimeSpan hold)
    {
        HttpClientBackpressureOptions options = _state.Options;
        hold = destination.Hold.Remaining;
        if (hold > TimeSpan.Zero && options.RetryAfter != RetryAfterHandling.Ignore)
        {
            return options.RetryAfter == RetryAfterHandling.FailFast || hold > options.MaxHold ? LocalVerdict.Held : LocalVerdict.Wait;
        }

        hold = TimeSpan.Zero;
        return Throttles(destination) ? LocalVerdict.Throttled : LocalVerdict.Send;
    }

    private static bool Throttles(ClientBackpressureState.Destination destination) => destination.Throttle is { } throttle && !throttle.TryAcquire();

    /// <summary>Whether the attempt just refused may be retried: attempts left, a method safe to repeat, and the budget's word.</summary>
    private bool MayRetry(ClientBackpressureState.Destination destination, int attempt, bool retriable)
    {
        if (attempt >= _state.Options.MaxRetries || !retriable)
        {
            return false;
        }

        if (!destination.Budget.TryRetry())
        {
            _state.Count(destination, "budget_exhausted");
            return false;
        }

        return true;
    }

    private Task BackOffAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(_state.Options.RetryBackoff(attempt, _state.Random()), _state.Time, cancellationToken);

    private static bool IsIdempotentWithoutBody(HttpRequestMessage request) =>
        request.Content is null
        && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options
            || request.Method == HttpMethod.Delete || request.Method == HttpMethod.Put);

    /// <summary>
    /// Answers the call itself, with a <c>429</c> saying why (<paramref name="verdict"/>: held back by the destination's
    /// <c>Retry-After</c>, for <paramref name="hold"/> more, or throttled) and when to come back, in <c>Retry-After</c>
    /// and <c>Retry-After-Ms</c>: the hold, or for a throttled call <see cref="Pushback.ThrottledWait"/>.
    /// </summary>
    private Task<HttpResponseMessage> RefuseLocally(
        HttpRequestMessage request, ClientBackpressureState.Destination destination, LocalVerdict verdict, TimeSpan hold = default)
    {
        _state.Count(destination, "refused_locally");
        bool throttled = verdict == LocalVerdict.Throttled;
        TimeSpan wait = throttled ? destination.Hold.ThrottledWait : hold;
        long seconds = (long)Math.Max(1, Math.Ceiling(wait.TotalSeconds));
        if (_state.Options.ShareLocalRefusals && (throttled ? SharedRefusal.Throttled(wait) : SharedRefusal.Held(seconds)) is { } shared)
        {
            return shared;
        }

        var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests)
        {
            RequestMessage = request,
            ReasonPhrase = LocalRefusalReason,
        };
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds));
        response.Headers.TryAddWithoutValidation(RetryAfterMilliseconds.Header, RetryAfterMilliseconds.Format(wait));
        response.Headers.TryAddWithoutValidation(LocalRefusalHeader, throttled ? "throttled" : "held");
        return Task.FromResult(response);
    }
}
