using Backpressure.Client;

namespace Backpressure.Grpc;

/// <summary>Options of a <see cref="ClientBackpressureInterceptor"/>. Validated once, when the interceptor is constructed.</summary>
public sealed class GrpcClientBackpressureOptions
{
    /// <summary>Refuse unary calls locally, with the SRE book's adaptive throttling, while the server keeps refusing them. Default true.</summary>
    public bool Throttle { get; set; } = true;

    /// <summary>The throttle's K, window and minimum of requests.</summary>
    public AdaptiveThrottleOptions Throttling { get; set; } = new();

    /// <summary>How many times a unary call refused with <c>RESOURCE_EXHAUSTED</c> or <c>UNAVAILABLE</c> is retried, within the budget: from 0 to 10; default 2.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>The retry budget (10 % of requests, at least 10 per 10 s, by default).</summary>
    public RetryBudgetOptions RetryBudget { get; set; } = new();

    /// <summary>While a <c>grpc-retry-pushback-ms</c> lasts: true (the default) fails new unary calls at once with <c>RESOURCE_EXHAUSTED</c>; false holds them until it ends.</summary>
    public bool FailFastWhilePushedBack { get; set; } = true;

    /// <summary>The pause before a retry the server gave no pushback for, doubled for each further retry, with jitter. From 1 ms to 1 minute; default 100 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        ClientOptionChecks.Nested(Throttling, () => Throttling.Validate(), nameof(Throttling));
        ClientOptionChecks.Nested(RetryBudget, () => RetryBudget.Validate(), nameof(RetryBudget));
        ClientOptionChecks.MaxRetries(MaxRetries, nameof(MaxRetries));
        ClientOptionChecks.RetryDelay(RetryDelay, nameof(RetryDelay));

    }
}
