using System.Globalization;
using System.Threading.RateLimiting;
using Backpressure.Admission;
using Grpc.Core;

namespace Backpressure.Grpc;

/// <summary>How a refused call is answered, by either interceptor: <c>RESOURCE_EXHAUSTED</c> with the wait as <c>grpc-retry-pushback-ms</c>.</summary>
internal static class GrpcRefusal
{
    /// <summary>The trailer that says which criticality a waiting room shed, and why (<c>sheddable; reason=priority</c>).</summary>
    public const string ShedTrailer = "backpressure-shed";

    /// <summary>
    /// The exception that answers a call refused by <paramref name="lease"/>; the caller disposes the lease. A streaming
    /// call gets no pushback (see <see cref="CallLimitingInterceptor"/>); <paramref name="detail"/> replaces the default reason.
    /// </summary>
    public static RpcException For(string method, RateLimitLease lease, bool streaming, string? detail = null)
    {
        var trailers = new Metadata();
        detail ??= $"{method} is over its limit";
        if (lease.TryGetMetadata(LimiterMetadata.ShedCriticality, out Criticality criticality)
            && lease.TryGetMetadata(LimiterMetadata.ShedReason, out ShedReason reason))
        {
            trailers.Add(ShedTrailer, AdmissionNames.Shed(criticality, reason));
            detail = $"{method} shed a {AdmissionNames.Criticality(criticality)} call ({AdmissionNames.Reason(reason)})";
        }

        if (!streaming && lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter))
        {
            long milliseconds = Math.Max(0, (long)Math.Ceiling(retryAfter.TotalMilliseconds));
            trailers.Add(BackpressureInterceptor.RetryPushbackTrailer, milliseconds.ToString(CultureInfo.InvariantCulture));
            detail += $"; retry after {milliseconds} ms";
        }

        return new RpcException(new Status(StatusCode.ResourceExhausted, detail), trailers);
    }
}
