using System.Net.WebSockets;

namespace Backpressure.Server.WebSockets;

/// <summary>The end of a session: the peer's side of the close handshake, bounded in time.</summary>
internal static class WebSocketClosing
{
    /// <summary>The reason sent with 1001 when the server stops.</summary>
    public const string GoingAway = "server shutting down";

    /// <summary>The reason sent with 1001 when a session has been idle for <paramref name="timeout"/>.</summary>
    public static string Idle(TimeSpan timeout) => $"idle for {timeout.TotalSeconds:0.#} s";

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the receive loop to see the peer's close (or the
    /// connection drop), aborting the socket if it does not, and returns the loop's answer.
    /// </summary>
    public static async Task<bool> AwaitPeerAsync(WebSocket socket, Task<bool> receiving, TimeSpan timeout, TimeProvider time)
    {
        try
        {
            return await receiving.WaitAsync(timeout, time);
        }
        catch (TimeoutException)
        {
            socket.Abort();
            return await receiving;
        }
    }
}
