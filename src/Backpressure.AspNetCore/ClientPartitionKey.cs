using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore;

/// <summary>Who a request counts against: the <c>X-Client-Id</c> header when present, else the remote address.</summary>
public static class ClientPartitionKey
{
    /// <summary>The header a client may name itself with.</summary>
    public const string HeaderName = "X-Client-Id";

    private const int MaxLength = 128;

    /// <summary>
    /// The partition key of a request. A client id longer than 128 characters is cut to that, so a
    /// client cannot make the server hold arbitrarily long keys.
    /// </summary>
    public static string From(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? id = context.Request.Headers[HeaderName];
        if (!string.IsNullOrWhiteSpace(id))
        {
            id = id.Trim();
            return "id:" + (id.Length > MaxLength ? id[..MaxLength] : id);
        }

        return "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }
}
