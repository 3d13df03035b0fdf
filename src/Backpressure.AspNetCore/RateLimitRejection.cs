using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Backpressure.AspNetCore;

/// <summary>
/// Answers a refused request: <c>429 Too Many Requests</c> (or <c>503</c> when the limiter could not decide) with, when the lease says how long to
/// wait, <c>Retry-After</c> in whole seconds rounded up (RFC 9110 has no fractions, and rounding
/// down would invite a retry that is refused again).
/// </summary>
internal static class RateLimitRejection
{
    /// <summary>A gauge's refusal: a short plain-text body, as the Go seed answers.</summary>
    public static Task WritePlainTextAsync(HttpContext context, RateLimitLease lease)
    {
        Start(context, lease);
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(
            lease.TryGetMetadata(LimiterMetadata.Unavailable, out string? why) ? $"Service unavailable: {why}" : "Too many requests", context.RequestAborted);
    }

    /// <summary>
    /// A rate-limit policy's refusal: also <c>RateLimit: "policy";r=0;t=N</c> and a problem-details
    /// body (RFC 9457) that says the same in words.
    /// </summary>
    public static Task WriteProblemAsync(HttpContext context, RateLimitPolicy policy, RateLimitLease lease)
    {
        long? retryAfter = Start(context, lease);
        string reset = retryAfter?.ToString(CultureInfo.InvariantCulture) ?? "";
        var extensions = new Dictionary<string, object?> { ["policy"] = policy.Name };
        if (retryAfter is not null)
        {
            extensions["retryAfterSeconds"] = retryAfter;
        }

        if (lease.TryGetMetadata(LimiterMetadata.Unavailable, out string? why))
        {
            return TypedResults.Problem(
                    detail: retryAfter is null ? $"The rate limit '{policy.Name}' cannot be checked: {why}." : $"The rate limit '{policy.Name}' cannot be checked: {why}; retry after {reset} s.",
                    statusCode: StatusCodes.Status503ServiceUnavailable,
                    title: "Service Unavailable",
                    type: "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
                    extensions: extensions)
                .ExecuteAsync(context);
        }

        context.Response.Headers["RateLimit"] = retryAfter is null ? $"\"{policy.Name}\";r=0" : $"\"{policy.Name}\";r=0;t={reset}";
        string detail = $"The rate limit '{policy.Name}' ({policy.Quota} per {policy.WindowSeconds} s) is used up";
        return TypedResults.Problem(
                detail: retryAfter is null ? $"{detail}." : $"{detail}; retry after {reset} s.",
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Too Many Requests",
                type: "https://www.rfc-editor.org/rfc/rfc6585#section-4",
                extensions: extensions)
            .ExecuteAsync(context);
    }

    /// <summary>
    /// Sets the status and <c>Retry-After</c>; returns the seconds sent, or null when the lease had none.
    /// A limiter that could not decide (its shared store is down and it fails closed) gets
    /// <c>503</c>, not <c>429</c>: the client did nothing wrong.
    /// </summary>
    private static long? Start(HttpContext context, RateLimitLease lease)
    {
        context.Response.StatusCode = lease.TryGetMetadata(LimiterMetadata.Unavailable, out _)
            ? StatusCodes.Status503ServiceUnavailable
            : StatusCodes.Status429TooManyRequests;
        if (!lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan delay))
        {
            return null;
        }

        long seconds = Math.Max(0, (long)Math.Ceiling(delay.TotalSeconds));
        context.Response.Headers[HeaderNames.RetryAfter] = seconds.ToString(CultureInfo.InvariantCulture);
        return seconds;
    }
}
