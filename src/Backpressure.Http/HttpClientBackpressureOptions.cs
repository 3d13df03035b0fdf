using Backpressure.Client;

namespace Backpressure.Http;

/// <summary>
/// Options of the client handler registered with <c>AddClientBackpressure</c>: the throttle and retries every client
/// adapter has, and how <c>Retry-After</c> is honoured. Validated once, when the first handler of the client is created.
/// </summary>
public sealed class HttpClientBackpressureOptions : ClientBackpressureOptions
{
    /// <summary>
    /// Retry methods that are not idempotent (POST, PATCH) and calls with a body as well. Default false: only GET, HEAD,
    /// OPTIONS, DELETE and PUT without content are retried, since a retried POST may be applied twice.
    /// </summary>
    public bool RetryUnsafeMethods { get; set; }

    /// <summary>What to do with calls to a destination that said <c>Retry-After</c>. Default <see cref="RetryAfterHandling.Wait"/>.</summary>
    public RetryAfterHandling RetryAfter { get; set; } = RetryAfterHandling.Wait;

    /// <summary>The longest <c>Retry-After</c> honoured by holding calls: a longer one fails them fast instead. From 0 to 1 hour; default 30 s.</summary>
    public TimeSpan MaxHold { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The shortest <c>Retry-After</c> that holds every call to the destination; a shorter one delays only the retry of
    /// the call it answered. From 0 (every Retry-After holds every call) to 1 hour; default 2 s. HTTP's <c>Retry-After</c>
    /// is in whole seconds: a concurrency limit whose next permit frees in 50 ms says 1, and holding every call for that
    /// second starved the server in our retry-storm run (8 calls/s served where 18 could be); a rate limit that says
    /// 10 means it.
    /// </summary>
    public TimeSpan HoldEveryCallFrom { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Answer a call refused locally with one shared, read-only <c>429</c> per reason and whole second of
    /// <c>Retry-After</c>, so that refusing allocates nothing, instead of a new response per call (about 350 B). Default
    /// false. The shared response's <see cref="HttpResponseMessage.RequestMessage"/> is null, disposing it does nothing,
    /// and it must not be changed: every caller refused for the same reason and wait gets the same object. Set it where a
    /// client refuses many calls a second and nothing above this handler alters or keeps responses.
    /// </summary>
    public bool ShareLocalRefusals { get; set; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (!Enum.IsDefined(RetryAfter))
        {
            throw new ArgumentException($"{nameof(RetryAfter)} must be Wait, FailFast or Ignore (was {RetryAfter}).", nameof(RetryAfter));
        }

        if (HoldEveryCallFrom < TimeSpan.Zero || HoldEveryCallFrom > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"{nameof(HoldEveryCallFrom)} must be from 0 to 1 hour (was {HoldEveryCallFrom}).", nameof(HoldEveryCallFrom));
        }

        if (MaxHold < TimeSpan.Zero || MaxHold > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"{nameof(MaxHold)} must be from 0 to 1 hour (was {MaxHold}).", nameof(MaxHold));
        }
    }
}
