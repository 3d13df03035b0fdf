using System.Diagnostics;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore;

/// <summary>
/// Wraps an endpoint's <see cref="RequestDelegate"/> so it runs holding a permit of a
/// <see cref="RateLimiter"/>, or answers 429 when the limiter refuses. It knows nothing of how
/// the limit is computed. Wrapping the delegate itself, rather than adding an endpoint filter,
/// keeps the admitted path to one acquire and one release: filters box the handler's arguments
/// into a context object on every request. Each decision is counted in <see cref="BackpressureMetrics"/>;
/// the clock is read only while someone listens to the duration histograms.
/// </summary>
internal static class RateLimitedRequestDelegate
{
    public static RequestDelegate Wrap(RequestDelegate next, RateLimiter limiter, string name, BackpressureMetrics? metrics) => context =>
    {
        long started = Now(metrics);
        ValueTask<RateLimitLease> pending = limiter.AcquireAsync(1, context.RequestAborted);
        return pending.IsCompletedSuccessfully
            ? Handle(next, context, pending.Result, name, metrics)
            : HandleWhenAcquiredAsync(next, context, pending, name, metrics, started);
    };

    public static RequestDelegate Wrap(RequestDelegate next, RateLimitPolicy policy, BackpressureMetrics? metrics) => context =>
    {
        long started = Now(metrics);
        ValueTask<RateLimitLease> pending = policy.Limiter.AcquireAsync(context, 1, context.RequestAborted);
        return pending.IsCompletedSuccessfully
            ? Handle(next, context, policy, pending.Result, metrics)
            : HandleWhenAcquiredAsync(next, context, policy, pending, metrics, started);
    };

    private static Task Handle(RequestDelegate next, HttpContext context, RateLimitPolicy policy, RateLimitLease lease, BackpressureMetrics? metrics)
    {
        IHeaderDictionary headers = context.Response.Headers;
        headers["RateLimit-Policy"] = policy.PolicyHeader;
        if (!lease.IsAcquired)
        {
            using (lease)
            {
                string? unavailable = RateLimitRejection.Unavailable(lease);
                metrics?.Decided(policy.Name, Refusal(unavailable));
                return RateLimitRejection.WriteProblemAsync(context, policy, lease, unavailable);
            }
        }

        long remaining = policy.Limiter.GetStatistics(context)?.CurrentAvailablePermits ?? 0;
        headers["RateLimit"] = $"\"{policy.Name}\";r={Math.Max(0, remaining)}";
        return Run(next, context, lease, policy.Name, metrics);
    }

    private static async Task HandleWhenAcquiredAsync(
        RequestDelegate next, HttpContext context, RateLimitPolicy policy, ValueTask<RateLimitLease> pending, BackpressureMetrics? metrics, long started)
    {
        RateLimitLease lease = await pending.ConfigureAwait(false);
        Waited(metrics, policy.Name, started);
        await Handle(next, context, policy, lease, metrics).ConfigureAwait(false);
    }

    private static Task Handle(RequestDelegate next, HttpContext context, RateLimitLease lease, string name, BackpressureMetrics? metrics)
    {
        if (!lease.IsAcquired)
        {
            using (lease)
            {
                string? unavailable = RateLimitRejection.Unavailable(lease);
                metrics?.Decided(name, Refusal(unavailable));
                return RateLimitRejection.WritePlainTextAsync(context, lease, unavailable);
            }
        }

        return Run(next, context, lease, name, metrics);
    }

    private static async Task HandleWhenAcquiredAsync(
        RequestDelegate next, HttpContext context, ValueTask<RateLimitLease> pending, string name, BackpressureMetrics? metrics, long started)
    {
        RateLimitLease lease = await pending.ConfigureAwait(false);
        Waited(metrics, name, started);
        await Handle(next, context, lease, name, metrics).ConfigureAwait(false);
    }

    /// <summary>Runs the admitted request and returns its permit when it ends, however it ends.</summary>
    private static Task Run(RequestDelegate next, HttpContext context, RateLimitLease lease, string name, BackpressureMetrics? metrics)
    {
        metrics?.Decided(name, "admitted");
        long heldFrom = Now(metrics);
        Task running;
        try
        {
            running = next(context);
        }
        catch
        {
            Release(lease, name, metrics, heldFrom);
            throw;
        }

        if (running.IsCompletedSuccessfully)
        {
            Release(lease, name, metrics, heldFrom);
            return running;
        }

        return ReleaseWhenDoneAsync(running, lease, name, metrics, heldFrom);
    }

    private static async Task ReleaseWhenDoneAsync(Task running, RateLimitLease lease, string name, BackpressureMetrics? metrics, long heldFrom)
    {
        try
        {
            await running.ConfigureAwait(false);
        }
        finally
        {
            Release(lease, name, metrics, heldFrom);
        }
    }

    private static void Release(RateLimitLease lease, string name, BackpressureMetrics? metrics, long heldFrom)
    {
        lease.Dispose();
        if (heldFrom != 0)
        {
            metrics!.Held(name, heldFrom);
        }
    }

    private static void Waited(BackpressureMetrics? metrics, string name, long started)
    {
        if (started != 0)
        {
            metrics!.Waited(name, started);
        }
    }

    private static long Now(BackpressureMetrics? metrics) => metrics is { TimesRequests: true } ? Stopwatch.GetTimestamp() : 0;

    private static string Refusal(string? unavailable) => unavailable is null ? "refused" : "unavailable";
}
