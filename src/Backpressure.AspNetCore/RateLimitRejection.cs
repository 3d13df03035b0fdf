using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Backpressure.AspNetCore;

/// <summary>
/// The answer to a request a rate-limit policy refused: <c>429</c>, <c>Retry-After</c> in whole
/// seconds rounded up (RFC 9110), <c>RateLimit: "policy";r=0;t=N</c>, and a problem-details body
/// (RFC 9457) that says the same in words.
/// </summary>
internal static class RateLimitRejection
{
    public static Task WriteAsync(HttpContext context, RateLimitPolicy policy, RateLimitLease lease)
    {
        long? retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan delay)
            ? TooManyRequestsResult.ToRetryAfterSeconds(delay)
            : null;
        IHeaderDictionary headers = context.Response.Headers;
        string reset = retryAfter is { } seconds ? seconds.ToString(CultureInfo.InvariantCulture) : "";
        headers["RateLimit"] = retryAfter is null ? $"\"{policy.Name}\";r=0" : $"\"{policy.Name}\";r=0;t={reset}";
        if (retryAfter is not null)
        {
            headers[HeaderNames.RetryAfter] = reset;
        }

        var extensions = new Dictionary<string, object?> { ["policy"] = policy.Name };
        if (retryAfter is not null)
        {
            extensions["retryAfterSeconds"] = retryAfter;
        }

        return TypedResults.Problem(
                detail: retryAfter is null
                    ? $"The rate limit '{policy.Name}' ({policy.Quota} per {policy.WindowSeconds} s) is used up."
                    : $"The rate limit '{policy.Name}' ({policy.Quota} per {policy.WindowSeconds} s) is used up; retry after {reset} s.",
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Too Many Requests",
                type: "https://www.rfc-editor.org/rfc/rfc6585#section-4",
                extensions: extensions)
            .ExecuteAsync(context);
    }
}
