using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore;

/// <summary>One limiter for every request, as a partitioned one: what a policy with no partitions holds.</summary>
internal sealed class SharedLimiter(RateLimiter limiter) : PartitionedRateLimiter<HttpContext>
{
    public RateLimiter Limiter { get; } = limiter;

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => Limiter.GetStatistics();

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) => Limiter.AttemptAcquire(permitCount);

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
        Limiter.AcquireAsync(permitCount, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Limiter.Dispose();
        }

        base.Dispose(disposing);
    }
}
