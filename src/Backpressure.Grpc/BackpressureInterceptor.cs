using System.Threading.RateLimiting;
using Grpc.Core;

namespace Backpressure.Grpc;

/// <summary>
/// A server interceptor that runs each call holding a permit of a
/// <see cref="PartitionedRateLimiter{TResource}"/> partitioned by the call's full method name
/// (<c>/package.Service/Method</c>), and refuses a call the limiter refuses with
/// <see cref="StatusCode.ResourceExhausted"/>. With a <see cref="PressureGauge"/> per method this
/// caps concurrent calls per method; any other <see cref="RateLimiter"/> works the same way. Given a second,
/// per-client limiter, each client holds at most its share of a method's calls, so that one client holding
/// long-lived streams cannot take a method's whole limit.
/// </summary>
/// <remarks>
/// A refusal of a unary call carries the lease's <see cref="MetadataName.RetryAfter"/>, when it has one, as the
/// trailer <c>grpc-retry-pushback-ms</c> in whole milliseconds rounded up, which gRPC clients with
/// a retry policy honour (gRPC proposal A6); a streaming call's refusal carries none (its permits are held as long as
/// clients keep their streams, which no estimate knows). The permit is held for the whole call, streaming calls
/// included, and returned exactly once when the handler ends, whether it completes, throws or is
/// cancelled. The handler of a refused call never runs.
/// </remarks>
public sealed class BackpressureInterceptor : CallLimitingInterceptor
{
    /// <summary>The trailer that tells a client how long to wait before retrying, in milliseconds.</summary>
    public const string RetryPushbackTrailer = "grpc-retry-pushback-ms";

    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly GrpcClientShares? _shares;

    /// <summary>Creates the interceptor over <paramref name="limiter"/>, which it does not own.</summary>
    public BackpressureInterceptor(PartitionedRateLimiter<string> limiter)
        : this(limiter, null)
    {
    }

    internal BackpressureInterceptor(PartitionedRateLimiter<string> limiter, GrpcClientShares? shares)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        _limiter = limiter;
        _shares = shares;
    }

    /// <inheritdoc />
    protected override async ValueTask<RateLimitLease> AcquireAsync(ServerCallContext context, bool streaming)
    {
        RateLimitLease lease = await _limiter.AcquireAsync(context.Method, 1, context.CancellationToken).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            using (lease)
            {
                throw GrpcRefusal.For(context.Method, lease, streaming);
            }
        }

        if (_shares is null)
        {
            return lease;
        }

        RateLimitLease share;
        try
        {
            share = await _shares.AcquireAsync(context).ConfigureAwait(false);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        if (share.IsAcquired)
        {
            return new CombinedLease(share, lease);
        }

        lease.Dispose();
        using (share)
        {
            throw GrpcRefusal.For(context.Method, share, streaming, $"{context.Method}: this client holds its share of the method's calls ({_shares.PerClient})");
        }
    }

    // Both permits, returned together when the call ends.
    private sealed class CombinedLease(RateLimitLease share, RateLimitLease method) : RateLimitLease
    {
        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => method.MetadataNames;

        public override bool TryGetMetadata(string metadataName, out object? metadata) => method.TryGetMetadata(metadataName, out metadata);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                method.Dispose();
                share.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
