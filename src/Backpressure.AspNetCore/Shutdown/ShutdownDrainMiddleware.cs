using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Backpressure.AspNetCore.Shutdown;

/// <summary>Counts every request through the <see cref="ShutdownDrain"/>, and refuses those that arrive while it drains.</summary>
internal sealed class ShutdownDrainMiddleware(RequestDelegate next, ShutdownDrain drain)
{
    private readonly string _retryAfter = ((long)Math.Ceiling(drain.Options.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    public async Task InvokeAsync(HttpContext context)
    {
        if (!drain.TryEnter())
        {
            await RefuseAsync(context);
            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            drain.Exit();
        }
    }

    private Task RefuseAsync(HttpContext context)
    {
        HttpResponse response = context.Response;
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
        {
            // A trailers-only gRPC answer: UNAVAILABLE is the status gRPC clients retry elsewhere.
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers["grpc-status"] = "14";
            response.Headers["grpc-message"] = "server shutting down";
            return Task.CompletedTask;
        }

        response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        response.Headers[HeaderNames.RetryAfter] = _retryAfter;
        if (context.Request.Protocol == "HTTP/1.1")
        {
            // The client's next request should open a connection to an instance that is not stopping.
            response.Headers[HeaderNames.Connection] = "close";
        }

        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync("The server is shutting down; retry after Retry-After seconds, on another instance.", context.RequestAborted);
    }
}
