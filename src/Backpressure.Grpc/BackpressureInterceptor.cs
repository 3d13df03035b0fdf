using System.Threading.RateLimiting;
using Grpc.Core;
using Grpc.Core.Interceptors;

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
public sealed class BackpressureInterceptor : Interceptor
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
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        using RateLimitLease lease = await AcquireAsync(context).ConfigureAwait(false);
        return await continuation(request, context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using RateLimitLease lease = await AcquireAsync(context).ConfigureAwait(false);
        return await continuation(requestStream, context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using RateLimitLease lease = await AcquireAsync(context).ConfigureAwait(false);
        await continuation(request, responseStream, context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using RateLimitLease lease = await AcquireAsync(context).ConfigureAwait(false);
        await continuation(requestStream, responseStream, context).ConfigureAwait(false);
    }

    /// <summary>Returns an acquired lease, or throws the refusal; a refused lease is disposed before the throw.</summary>
    private async ValueTask<RateLimitLease> AcquireAsync(ServerCallContext context)
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
