using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Backpressure.AspNetCore;

/// <summary>
/// Answers a refused request: <c>429 Too Many Requests</c>, or <c>503 Service Unavailable</c> when
/// the limiter could not decide (its shared store is down and it fails closed: the client did nothing
/// wrong), with, when the lease says how long to wait, <c>Retry-After</c> in whole seconds rounded up
/// (RFC 9110 has no fractions, and rounding down would invite a retry that is refused again) and
/// <c>Retry-After-Ms</c> in whole milliseconds rounded up, for clients that read it (see <see cref="RetryAfterMilliseconds"/>).
/// </summary>
internal static class RateLimitRejection
{
    /// <summary>Why the limiter could not decide (<see cref="LimiterMetadata.Unavailable"/>), or null for an ordinary refusal.</summary>
    public static string? Unavailable(RateLimitLease lease) => lease.TryGetMetadata(LimiterMetadata.Unavailable, out string? why) ? why : null;

    /// <summary>A refusal in plain text: a short body, as the Go seed answers.</summary>
    public static Task WritePlainTextAsync(HttpContext context, RateLimitLease lease, string? unavailable)
    {
        Start(context, lease, unavailable);
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(unavailable is null ? "Too many requests" : $"Service unavailable: {unavailable}", context.RequestAborted);
    }

    /// <summary>
    /// A refusal in problem details (RFC 9457) that says in words what the headers say; a policy with a
    /// quota also sends, for a 429, <c>RateLimit: "policy";r=0;t=N</c>.
    /// </summary>
    public static Task WriteProblemAsync(HttpContext context, BackpressurePolicy policy, RateLimitLease lease, string? unavailable)
    {
        long? retryAfter = Start(context, lease, unavailable);
        string reset = retryAfter?.ToString(CultureInfo.InvariantCulture) ?? "";
        var extensions = new Dictionary<string, object?> { ["policy"] = policy.Name };
        if (retryAfter is not null)
        {
            extensions["retryAfterSeconds"] = retryAfter;
        }

        if (unavailable is null && policy.Quota is not null)
        {
            context.Response.Headers["RateLimit"] = retryAfter is null ? $"\"{policy.Name}\";r=0" : $"\"{policy.Name}\";r=0;t={reset}";
        }

        string detail = (unavailable, policy.Quota) switch
        {
            (null, { } quota) => $"The rate limit '{policy.Name}' ({quota.Permits} per {quota.WindowSeconds} s) is used up",
            (null, null) => $"The limit '{policy.Name}' is reached",
            _ => $"The limit '{policy.Name}' cannot be checked: {unavailable}",
        };
        return TypedResults.Problem(
                detail: retryAfter is null ? $"{detail}." : $"{detail}; retry after {reset} s.",
                statusCode: context.Response.StatusCode,
                title: unavailable is null ? "Too Many Requests" : "Service Unavailable",
                type: unavailable is null ? "https://www.rfc-editor.org/rfc/rfc6585#section-4" : "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
                extensions: extensions)
            .ExecuteAsync(context);
    }

    /// <summary>The response header that says which criticality a waiting room shed, and why.</summary>
    public const string ShedHeader = "Backpressure-Shed";

    /// <summary>
    /// On a refusal by a waiting room: <c>Backpressure-Shed: sheddable; reason=priority</c>, the level shed and why
    /// (a client or gateway can tell "my priority was shed" from "the service is full").
    /// </summary>
    public static void WriteShedHeader(HttpContext context, RateLimitLease lease)
    {
        if (lease.TryGetMetadata(LimiterMetadata.ShedCriticality, out Backpressure.Admission.Criticality criticality)
            && lease.TryGetMetadata(LimiterMetadata.ShedReason, out Backpressure.Admission.ShedReason reason))
        {
            context.Response.Headers[ShedHeader] = AdmissionNames.Shed(criticality, reason);
        }
    }

    /// <summary>A request the policy cannot decide as sent: 400 with the reason, before any permit is asked for.</summary>
    public static Task WriteBadRequestAsync(HttpContext context, string reason)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(reason, context.RequestAborted);
    }

    /// <summary>Sets the status and <c>Retry-After</c>; returns the seconds sent, or null when the lease had none.</summary>
    private static long? Start(HttpContext context, RateLimitLease lease, string? unavailable)
    {
        context.Response.StatusCode = unavailable is null ? StatusCodes.Status429TooManyRequests : StatusCodes.Status503ServiceUnavailable;
        if (!lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan delay))
        {
            return null;
        }

        long seconds = Math.Max(0, (long)Math.Ceiling(delay.TotalSeconds));
        context.Response.Headers[HeaderNames.RetryAfter] = seconds.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers[RetryAfterMilliseconds.Header] = RetryAfterMilliseconds.Format(delay);
        return seconds;
    }
}
