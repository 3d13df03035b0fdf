using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Backpressure.Server.Grpc;

/// <summary>
/// Logs a gRPC call that ends with a status for its client (a bad argument, a refusal) in one line. Grpc.AspNetCore
/// logs each such <see cref="RpcException"/> at Information with its stack trace, some sixty lines for what is the
/// client's mistake or the server's deliberate answer; its category is set to Warning in <c>appsettings.json</c>, which
/// keeps its logs of the server's own failures (Error). Refusals under load (RESOURCE_EXHAUSTED, UNAVAILABLE) and calls the
/// client gave up on (CANCELLED, DEADLINE_EXCEEDED) are expected by the thousand, so they are logged at Debug; the metrics count them.
/// </summary>
internal sealed partial class GrpcCallLog(ILogger<GrpcCallLog> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (RpcException e)
        {
            Log(context, e);
            throw;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (RpcException e)
        {
            Log(context, e);
            throw;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (RpcException e)
        {
            Log(context, e);
            throw;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (RpcException e)
        {
            Log(context, e);
            throw;
        }
    }

    private void Log(ServerCallContext context, RpcException e)
    {
        if (e.StatusCode is StatusCode.ResourceExhausted or StatusCode.Unavailable or StatusCode.Cancelled or StatusCode.DeadlineExceeded)
        {
            LogExpected(logger, context.Method, context.Peer, e.StatusCode, e.Status.Detail);
        }
        else
        {
            LogClientError(logger, context.Method, context.Peer, e.StatusCode, e.Status.Detail);
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "gRPC {Method} from {Peer} ended {StatusCode}: {Detail}")]
    private static partial void LogClientError(ILogger logger, string method, string peer, StatusCode statusCode, string detail);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "gRPC {Method} from {Peer} ended {StatusCode}: {Detail}")]
    private static partial void LogExpected(ILogger logger, string method, string peer, StatusCode statusCode, string detail);
}
