using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore;

/// <summary>
/// A named rate-limit policy: one limiter per client (<see cref="ClientPartitionKey"/>), and what
/// the <c>RateLimit-Policy</c> header says of it (quota <c>q</c> per window <c>w</c> seconds).
/// </summary>
/// <param name="Name">The policy name endpoints refer to.</param>
/// <param name="Limiter">One limiter per client; idle clients' limiters are retired.</param>
/// <param name="Quota">Requests allowed per <paramref name="WindowSeconds"/>.</param>
/// <param name="WindowSeconds">The window the quota applies to, in seconds.</param>
public sealed record RateLimitPolicy(string Name, PartitionedRateLimiter<HttpContext> Limiter, long Quota, long WindowSeconds)
{
    /// <summary>The <c>RateLimit-Policy</c> header value (IETF httpapi rate-limit headers draft).</summary>
    public string PolicyHeader => $"\"{Name}\";q={Quota};w={WindowSeconds}";
}
