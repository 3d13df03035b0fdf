using System.Threading.RateLimiting;
using Backpressure.Adaptive;
using Backpressure.Partitioning;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore;

/// <summary>
/// Wraps an endpoint's <see cref="RequestDelegate"/> so it runs holding a permit of a
/// <see cref="RateLimiter"/>, or answers 429 when the limiter refuses. It knows nothing of how
/// the limit is computed. Wrapping the delegate itself, rather than adding an endpoint filter,
/// keeps the admitted path to one acquire and one release: filters box the handler's arguments
/// into a context object on every request. Each decision is counted in the policy's
/// <see cref="PolicyMeasurements"/>, resolved once here rather than per request.
/// </summary>
internal static class RateLimitedRequestDelegate
{
    public static RequestDelegate Wrap(RequestDelegate next, BackpressurePolicy policy, BackpressureMetrics? metrics)
    {
        PolicyMeasurements? measured = metrics?.For(policy.Name);
        if (policy.Limiter is SharedLimiter shared)
        {
            // One limiter for every request: asked directly, not through the partitioned wrapper, whose layer of
            // argument checks and virtual calls costs a shared limit more than its own acquire.
            RateLimiter limiter = shared.Limiter;
            return context => Decide(next, context, policy, limiter.AcquireAsync(1, context.RequestAborted), measured);
        }

        if (policy.Limiter is BoundedPartitionedRateLimiter<HttpContext> partitioned && policy.Partitioner is { } partitioner)
        {
            // The key is computed once, for the decision and for the RateLimit header's statistics: a key may be an
            // address formatted or an API key hashed.
            return context =>
            {
                string key = partitioner.KeyOf(context);
                return Decide(next, context, policy, partitioned.AcquirePartitionAsync(key, 1, context.RequestAborted), measured, key);
            };
        }

        if (policy.Malformed is { } malformed)
        {
            return context => malformed(context) is { } reason
                ? RateLimitRejection.WriteBadRequestAsync(context, reason)
                : Decide(next, context, policy, policy.Limiter.AcquireAsync(context, 1, context.RequestAborted), measured);
        }

        return context => Decide(next, context, policy, policy.Limiter.AcquireAsync(context, 1, context.RequestAborted), measured);
    }

    /// <remarks>
    /// A wait is timed from when the limiter handed back an unfinished acquisition, not from before it
    /// was asked: what a limiter does before it returns (a partition lookup, queuing a command to
    /// Redis) takes microseconds against waits of milliseconds, and a decision made at once (almost
    /// every one) then reads no clock for a wait that did not happen.
    /// </remarks>
    private static Task Decide(
        RequestDelegate next, HttpContext context, BackpressurePolicy policy, ValueTask<RateLimitLease> pending, PolicyMeasurements? measured,
        string? partitionKey = null) =>
        pending.IsCompletedSuccessfully
            ? Handle(next, context, policy, pending.Result, measured, partitionKey)
            : HandleWhenAcquiredAsync(next, context, policy, pending, measured, measured?.Now() ?? 0, partitionKey);

    private static async Task HandleWhenAcquiredAsync(
        RequestDelegate next, HttpContext context, BackpressurePolicy policy, ValueTask<RateLimitLease> pending, PolicyMeasurements? measured, long started,
        string? partitionKey)
    {
        RateLimitLease lease = await pending.ConfigureAwait(false);
        measured?.Waited(started);
        await Handle(next, context, policy, lease, measured, partitionKey).ConfigureAwait(false);
    }

    /// <summary>
    /// Answers a refused request at once, in the policy's answer shape, or runs an admitted one. A policy
    /// with a quota also describes itself in <c>RateLimit-Policy</c>/<c>RateLimit</c> headers.
    /// </summary>
    private static Task Handle(
        RequestDelegate next, HttpContext context, BackpressurePolicy policy, RateLimitLease lease, PolicyMeasurements? measured, string? partitionKey)
    {
        if (policy.PolicyHeader is { } header)
        {
            context.Response.Headers["RateLimit-Policy"] = header;
        }

        if (!lease.IsAcquired)
        {
            using (lease)
            {
                string? unavailable = RateLimitRejection.Unavailable(lease);
                measured?.Refused(unavailable is not null);
                RateLimitRejection.WriteShedHeader(context, lease);
                return policy.Answer == RefusalAnswer.PlainText
                    ? RateLimitRejection.WritePlainTextAsync(context, lease, unavailable)
                    : RateLimitRejection.WriteProblemAsync(context, policy, lease, unavailable);
            }
        }

        if (policy.PolicyHeader is not null)
        {
            RateLimiterStatistics? statistics = partitionKey is not null && policy.Limiter is BoundedPartitionedRateLimiter<HttpContext> partitioned
                ? partitioned.GetPartitionStatistics(partitionKey)
                : policy.Limiter.GetStatistics(context);
            long remaining = statistics?.CurrentAvailablePermits ?? 0;
            context.Response.Headers["RateLimit"] = $"\"{policy.Name}\";r={Math.Max(0, remaining)}";
        }

        return Run(next, context, lease, measured);
    }

    /// <summary>Runs the admitted request and returns its permit when it ends, however it ends.</summary>
    private static Task Run(RequestDelegate next, HttpContext context, RateLimitLease lease, PolicyMeasurements? measured)
    {
        measured?.Admitted();
        long heldFrom = measured?.Now() ?? 0;
        Task running;
        try
        {
            running = next(context);
        }
        catch
        {
            AdaptiveConcurrencyLimiter.MarkDropped(lease);
            Release(lease, measured, heldFrom);
            throw;
        }

        if (running.IsCompletedSuccessfully)
        {
            Release(lease, measured, heldFrom);
            return running;
        }

        return ReleaseWhenDoneAsync(running, context, lease, measured, heldFrom);
    }

    private static async Task ReleaseWhenDoneAsync(Task running, HttpContext context, RateLimitLease lease, PolicyMeasurements? measured, long heldFrom)
    {
        try
        {
            await running.ConfigureAwait(false);
        }
        finally
        {
            // Failed or abandoned work says nothing of how fast the service is: an adaptive limit
            // takes it as dropped rather than as a latency sample.
            if (!running.IsCompletedSuccessfully || context.RequestAborted.IsCancellationRequested)
            {
                AdaptiveConcurrencyLimiter.MarkDropped(lease);
            }

            Release(lease, measured, heldFrom);
        }
    }

    private static void Release(RateLimitLease lease, PolicyMeasurements? measured, long heldFrom)
    {
        lease.Dispose();
        measured?.Held(heldFrom);
    }
}
