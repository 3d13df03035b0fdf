using Backpressure.Client;

namespace Backpressure.Http;

/// <summary>
/// Options of the client handler registered with <c>AddClientBackpressure</c>. Validated once, when the first handler of
/// the client is created.
/// </summary>
public sealed class ClientBackpressureOptions
{
    /// <summary>Refuse calls locally, with the SRE book's adaptive throttling, while a destination keeps refusing. Default true.</summary>
    public bool Throttle { get; set; } = true;

    /// <summary>The throttle's K and window (the book's 2 and 2 minutes by default).</summary>
    public AdaptiveThrottleOptions Throttling { get; set; } = new();

    /// <summary>
    /// How many times the handler retries a call answered 429 or 503, within the <see cref="RetryBudget"/>: from 0 to 10;
    /// default 2. Only idempotent methods without a body are retried (GET, HEAD, OPTIONS, DELETE, PUT without content), unless
    /// <see cref="RetryUnsafeMethods"/>.
    /// </summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Retry methods that are not idempotent (POST, PATCH) as well. Default false: a retried POST may be applied twice.</summary>
    public bool RetryUnsafeMethods { get; set; }

    /// <summary>The retry budget per destination (10 % of requests, at least 10 per 10 s, by default).</summary>
    public RetryBudgetOptions RetryBudget { get; set; } = new();

    /// <summary>What to do with calls to a destination that said <c>Retry-After</c>. Default <see cref="RetryAfterHandling.Wait"/>.</summary>
    public RetryAfterHandling RetryAfter { get; set; } = RetryAfterHandling.Wait;

    /// <summary>The longest <c>Retry-After</c> honoured: a longer one fails calls fast instead of holding them. From 0 to 1 hour; default 30 s.</summary>
    public TimeSpan MaxHold { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The pause before a retry when the server said no <c>Retry-After</c>, doubled for each further retry, with jitter. From 1 ms to 1 minute; default 100 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        ClientOptionChecks.Nested(Throttling, () => Throttling.Validate(), nameof(Throttling));
        ClientOptionChecks.Nested(RetryBudget, () => RetryBudget.Validate(), nameof(RetryBudget));
        ClientOptionChecks.MaxRetries(MaxRetries, nameof(MaxRetries));
        ClientOptionChecks.RetryDelay(RetryDelay, nameof(RetryDelay));

        if (!Enum.IsDefined(RetryAfter))
        {
            throw new ArgumentException($"{nameof(RetryAfter)} must be Wait, FailFast or Ignore (was {RetryAfter}).", nameof(RetryAfter));
        }

        if (MaxHold < TimeSpan.Zero || MaxHold > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"{nameof(MaxHold)} must be from 0 to 1 hour (was {MaxHold}).", nameof(MaxHold));
        }

    }
}
