using System.Threading.RateLimiting;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Backpressure.Grpc;

/// <summary>
/// The part the server interceptors share: every kind of call (unary, client, server and duplex streaming) runs holding
/// the lease <see cref="AcquireAsync"/> returns, returned exactly once when the handler ends, whether it completes, throws
/// or is cancelled. A refusal is thrown by <see cref="AcquireAsync"/>, so the handler of a refused call never runs.
/// </summary>
public abstract class CallLimitingInterceptor : Interceptor
{
    /// <inheritdoc />
    public sealed override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        using RateLimitLease lease = await AcquireAsync(context, streaming: false).ConfigureAwait(false);
        return await continuation(request, context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public sealed override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using RateLimitLease lease = await AcquireAsync(context, streaming: true).ConfigureAwait(false);
        return await continuation(requestStream, context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public sealed override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using RateLimitLease lease = await AcquireAsync(context, streaming: true).ConfigureAwait(false);
        await continuation(request, responseStream, context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public sealed override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using RateLimitLease lease = await AcquireAsync(context, streaming: true).ConfigureAwait(false);
        await continuation(requestStream, responseStream, context).ConfigureAwait(false);
    }

    /// <summary>Returns an acquired lease for the call, or throws the <see cref="RpcException"/> that refuses it (disposing a refused lease first).</summary>
    /// <param name="context">The call.</param>
    /// <param name="streaming">
    /// True for a streaming call, which holds its permit for as long as its client keeps the stream open: a wait
    /// estimated from hold times means nothing for it, so its refusal carries no pushback and the client's own backoff applies.
    /// </param>
    protected abstract ValueTask<RateLimitLease> AcquireAsync(ServerCallContext context, bool streaming);
}
