using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore;

/// <summary>
/// Holds a permit of a <see cref="RateLimiter"/> for the duration of an endpoint's handler, or
/// answers 429 when the limiter refuses. It knows nothing of how the limit is computed.
/// </summary>
internal sealed class RateLimiterEndpointFilter(RateLimiter limiter) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        using RateLimitLease lease = await limiter.AcquireAsync(1, context.HttpContext.RequestAborted).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            return TooManyRequestsResult.From(lease);
        }

        return await next(context).ConfigureAwait(false);
    }
}
