using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Backpressure.AspNetCore;

/// <summary>
/// <c>429 Too Many Requests</c> with a short plain-text body and, when the refused lease says how
/// long to wait, <c>Retry-After</c> in whole seconds rounded up (RFC 9110 §10.2.3 has no fractions,
/// and rounding down would invite a retry that is refused again).
/// </summary>
internal sealed class TooManyRequestsResult : IResult
{
    private const string Body = "Too many requests";

    private readonly TimeSpan? _retryAfter;

    private TooManyRequestsResult(TimeSpan? retryAfter) => _retryAfter = retryAfter;

    public static TooManyRequestsResult From(RateLimitLease lease) =>
        new(lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter) ? retryAfter : null);

    public static long ToRetryAfterSeconds(TimeSpan retryAfter) =>
        Math.Max(0, (long)Math.Ceiling(retryAfter.TotalSeconds));

    public Task ExecuteAsync(HttpContext httpContext)
    {
        HttpResponse response = httpContext.Response;
        response.StatusCode = StatusCodes.Status429TooManyRequests;
        if (_retryAfter is { } retryAfter)
        {
            response.Headers[HeaderNames.RetryAfter] = ToRetryAfterSeconds(retryAfter).ToString(CultureInfo.InvariantCulture);
        }

        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(Body, httpContext.RequestAborted);
    }
}
