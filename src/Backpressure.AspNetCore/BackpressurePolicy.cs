using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore;

/// <summary>
/// A named policy that endpoints require with
/// <see cref="BackpressureEndpointConventionBuilderExtensions.RequireBackpressure{TBuilder}(TBuilder, string)"/>:
/// one limiter (shared by every request, or one per partition), and how a refusal is answered.
/// Registered through <see cref="BackpressureBuilder"/>.
/// </summary>
public sealed class BackpressurePolicy : IDisposable, IAsyncDisposable
{
    /// <summary>Creates a policy.</summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="limiter">Decides each request; the policy owns it.</param>
    /// <param name="answer">How refusals are answered.</param>
    /// <param name="quota">What the policy allows, for the <c>RateLimit-Policy</c> and <c>RateLimit</c> headers; null sends none.</param>
    public BackpressurePolicy(string name, PartitionedRateLimiter<HttpContext> limiter, RefusalAnswer answer, RateLimitQuota? quota = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(limiter);
        Name = name;
        Limiter = limiter;
        Answer = answer;
        Quota = quota;
        PolicyHeader = quota is null ? null : $"\"{name}\";q={quota.Permits};w={quota.WindowSeconds}";
    }

    /// <summary>The name endpoints refer to.</summary>
    public string Name { get; }

    /// <summary>Decides each request.</summary>
    public PartitionedRateLimiter<HttpContext> Limiter { get; }

    /// <summary>How refusals are answered.</summary>
    public RefusalAnswer Answer { get; }

    /// <summary>What the policy allows, when it describes itself in <c>RateLimit</c> headers.</summary>
    public RateLimitQuota? Quota { get; }

    /// <summary>
    /// Who a request counts against, for a policy whose limiter is a <see cref="Partitioning.BoundedPartitionedRateLimiter{TResource}"/>
    /// keyed by it: the request wrapper then computes a request's key once, for its decision and its <c>RateLimit</c> header.
    /// </summary>
    internal RequestPartitioner? Partitioner { get; init; }

    /// <summary>Says why a request cannot be decided as sent (answered 400 before any permit is asked for), or null; null for none to check.</summary>
    internal Func<HttpContext, string?>? Malformed { get; init; }

    /// <summary>The <c>RateLimit-Policy</c> header value, or null when the policy has no quota to describe.</summary>
    internal string? PolicyHeader { get; }

    /// <summary>Disposes the limiter (and every partition's).</summary>
    public void Dispose() => Limiter.Dispose();

    /// <summary>Disposes the limiter (and every partition's).</summary>
    public ValueTask DisposeAsync() => Limiter.DisposeAsync();
}
