namespace Backpressure.Http;

/// <summary>What a client does with the calls it makes to a destination that told it, with <c>Retry-After</c>, to come back later.</summary>
public enum RetryAfterHandling
{
    /// <summary>Hold them until then, and send them then (up to <see cref="HttpClientBackpressureOptions.MaxHold"/>). The default.</summary>
    Wait,

    /// <summary>Answer them at once with a local 429 carrying the time left, without sending them.</summary>
    FailFast,

    /// <summary>Send them anyway (only the handler's own retries wait).</summary>
    Ignore,
}
