using Backpressure.AspNetCore.Shutdown;
using Backpressure.AspNetCore.WebSockets;
using Backpressure.Queues;
using Microsoft.Extensions.Options;

namespace Backpressure.Server.WebSockets;

/// <summary>Maps <c>/ws/feed</c> and <c>/ws/ingest</c>.</summary>
internal static class WebSocketEndpoints
{
    public static void Map(WebApplication app)
    {
        app.UseWebSockets();
        // An upgrade to WebSocket is a GET (over HTTP/1.1, which is what this listener speaks); any other method is answered 405.
        app.MapGet("/ws/feed", (HttpContext context) => AcceptAsync(context, ingest: false));
        app.MapGet("/ws/ingest", (HttpContext context) => AcceptAsync(context, ingest: true));
    }

    private static async Task AcceptAsync(HttpContext context, bool ingest)
    {
        IServiceProvider services = context.RequestServices;
        WebSocketEndpointOptions limits = services.GetRequiredService<IOptions<WebSocketEndpointOptions>>().Value;
        WebSocketSessionRequest? request = WebSocketSessionRequest.Parse(context.Request.Query, limits, ingest, out string? error);
        if (request is null)
        {
            await Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: error).ExecuteAsync(context);
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "This endpoint speaks WebSocket: send a GET with an Upgrade: websocket header.")
                .ExecuteAsync(context);
            return;
        }

        string endpoint = ingest ? IngestSession.Endpoint : FeedSession.Endpoint;
        string client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        (IDisposable? permits, string? refusal) = services.GetRequiredService<WebSocketConnectionLimits>().TryOpen(endpoint, client);
        if (permits is null)
        {
            await Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, detail: refusal).ExecuteAsync(context);
            return;
        }

        using IDisposable held = permits;
        var sessions = services.GetRequiredService<WebSocketSessions>();
        var time = services.GetRequiredService<TimeProvider>();
        var budget = services.GetRequiredService<QueueMemoryBudget>();
        CancellationToken stopping = services.GetService<ShutdownDrain>()?.Draining ?? CancellationToken.None;
        // Before the upgrade: a client that stops reading then fills a bounded kernel buffer, not the 4 MiB Linux would grow it to.
        if (limits.SocketSendBufferBytes > 0)
        {
            context.TryLimitSocketSendBuffer(limits.SocketSendBufferBytes);
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        if (ingest)
        {
            await new IngestSession(socket, request, limits, time, budget, stopping).RunAsync(sessions, context.RequestAborted);
        }
        else
        {
            await new FeedSession(socket, request, limits, time, budget, stopping).RunAsync(sessions, context.RequestAborted);
        }
    }
}
