namespace Backpressure.AspNetCore;

/// <summary>How a policy answers a request it refuses. Either way: <c>429</c> (or <c>503</c> when the limit cannot be checked) with an honest <c>Retry-After</c>.</summary>
public enum RefusalAnswer
{
    /// <summary>A short plain-text body (<c>Too many requests</c>), as the Go seed answers: for concurrency limits in front of work.</summary>
    PlainText,

    /// <summary>A problem-details body (RFC 9457) naming the policy and the wait: for rate limits a client is expected to read.</summary>
    ProblemDetails,
}
