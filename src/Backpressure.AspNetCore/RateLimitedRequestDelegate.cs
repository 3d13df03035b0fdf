using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore;

/// <summary>
/// Wraps an endpoint's <see cref="RequestDelegate"/> so it runs holding a permit of a
/// <see cref="RateLimiter"/>, or answers 429 when the limiter refuses. It knows nothing of how
/// the limit is computed. Wrapping the delegate itself, rather than adding an endpoint filter,
/// keeps the admitted path to one acquire and one release: filters box the handler's arguments
/// into a context object on every request.
/// </summary>
internal static class RateLimitedRequestDelegate
{
    public static RequestDelegate Wrap(RequestDelegate next, RateLimiter limiter) => context =>
    {
        ValueTask<RateLimitLease> pending = limiter.AcquireAsync(1, context.RequestAborted);
        return pending.IsCompletedSuccessfully
            ? Handle(next, context, pending.Result)
            : HandleWhenAcquiredAsync(next, context, pending);
    };

    public static RequestDelegate Wrap(RequestDelegate next, RateLimitPolicy policy) => context =>
    {
        ValueTask<RateLimitLease> pending = policy.Limiter.AcquireAsync(context, 1, context.RequestAborted);
        return pending.IsCompletedSuccessfully
            ? Handle(next, context, policy, pending.Result)
            : HandleWhenAcquiredAsync(next, context, policy, pending);
    };

    private static Task Handle(RequestDelegate next, HttpContext context, RateLimitPolicy policy, RateLimitLease lease)
    {
        IHeaderDictionary headers = context.Response.Headers;
        headers["RateLimit-Policy"] = policy.PolicyHeader;
        if (!lease.IsAcquired)
        {
            using (lease)
            {
                return RateLimitRejection.WriteProblemAsync(context, policy, lease);
            }
        }

        long remaining = policy.Limiter.GetStatistics(context)?.CurrentAvailablePermits ?? 0;
        headers["RateLimit"] = $"\"{policy.Name}\";r={Math.Max(0, remaining)}";
        return Handle(next, context, lease);
    }

    private static async Task HandleWhenAcquiredAsync(RequestDelegate next, HttpContext context, RateLimitPolicy policy, ValueTask<RateLimitLease> pending) =>
        await Handle(next, context, policy, await pending.ConfigureAwait(false)).ConfigureAwait(false);

    private static Task Handle(RequestDelegate next, HttpContext context, RateLimitLease lease)
    {
        if (!lease.IsAcquired)
        {
            using (lease)
            {
                return RateLimitRejection.WritePlainTextAsync(context, lease);
            }
        }

        Task running;
        try
        {
            running = next(context);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        if (running.IsCompletedSuccessfully)
        {
            lease.Dispose();
            return running;
        }

        return ReleaseWhenDoneAsync(running, lease);
    }

    private static async Task ReleaseWhenDoneAsync(Task running, RateLimitLease lease)
    {
        using (lease)
        {
            await running.ConfigureAwait(false);
        }
    }

    private static async Task HandleWhenAcquiredAsync(RequestDelegate next, HttpContext context, ValueTask<RateLimitLease> pending) =>
        await Handle(next, context, await pending.ConfigureAwait(false)).ConfigureAwait(false);
}
