using System.Threading.RateLimiting;
using Grpc.Core;

namespace Backpressure.Grpc;

/// <summary>
/// A server interceptor that runs each call holding a permit of a
/// <see cref="PartitionedRateLimiter{TResource}"/> partitioned by the call's full method name
/// (<c>/package.Service/Method</c>), and refuses a call the limiter refuses with
/// <see cref="StatusCode.ResourceExhausted"/>. With a <see cref="PressureGauge"/> per method this
/// caps concurrent calls per method; any other <see cref="RateLimiter"/> works the same way.
/// </summary>
/// <remarks>
/// A refusal carries the lease's <see cref="MetadataName.RetryAfter"/>, when it has one, as the
/// trailer <c>grpc-retry-pushback-ms</c> in whole milliseconds rounded up, which gRPC clients with
/// a retry policy honour (gRPC proposal A6). The permit is held for the whole call, streaming calls
/// included, and returned exactly once when the handler ends, whether it completes, throws or is
/// cancelled. The handler of a refused call never runs.
/// </remarks>
public sealed class BackpressureInterceptor : CallLimitingInterceptor
{
    /// <summary>The trailer that tells a client how long to wait before retrying, in milliseconds.</summary>
    public const string RetryPushbackTrailer = "grpc-retry-pushback-ms";

    private readonly PartitionedRateLimiter<string> _limiter;

    /// <summary>Creates the interceptor over <paramref name="limiter"/>, which it does not own.</summary>
    public BackpressureInterceptor(PartitionedRateLimiter<string> limiter)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        _limiter = limiter;
    }

    /// <inheritdoc />
    protected override async ValueTask<RateLimitLease> AcquireAsync(ServerCallContext context)
    {
        RateLimitLease lease = await _limiter.AcquireAsync(context.Method, 1, context.CancellationToken).ConfigureAwait(false);
        if (lease.IsAcquired)
        {
            return lease;
        }

        using (lease)
        {
            throw GrpcRefusal.For(context.Method, lease);
        }
    }
}
