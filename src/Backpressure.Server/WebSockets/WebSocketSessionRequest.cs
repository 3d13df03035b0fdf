using System.Globalization;
using Backpressure.Queues;

namespace Backpressure.Server.WebSockets;

/// <summary>
/// What a client asked for in a WebSocket URL's query string (<c>?policy=drop-oldest&amp;queue=50&amp;rate=100&amp;size=64</c>),
/// checked against the server's <see cref="WebSocketEndpointOptions"/> before the upgrade.
/// </summary>
/// <param name="Policy">What the connection's queue does when full.</param>
/// <param name="QueueLength">The queue's capacity in messages.</param>
/// <param name="Rate">Messages per second: published (feed) or processed (ingest).</param>
/// <param name="PayloadBytes">The feed's payload size per message.</param>
public sealed record WebSocketSessionRequest(OverflowPolicy Policy, int QueueLength, int Rate, int PayloadBytes)
{
    /// <summary>Reads the query; on a bad value returns null and a reason for the 400 response.</summary>
    public static WebSocketSessionRequest? Parse(IQueryCollection query, WebSocketEndpointOptions limits, bool ingest, out string? error)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(limits);
        error = null;
        string policyText = query["policy"].FirstOrDefault() ?? limits.DefaultPolicy;
        if (!TryParsePolicy(policyText, out OverflowPolicy policy))
        {
            error = $"policy must be drop-oldest, drop-newest or block (was '{policyText}').";
            return null;
        }

        int maxRate = ingest ? limits.MaxIngestRate : limits.MaxFeedRate;
        int defaultRate = ingest ? limits.DefaultIngestRate : limits.DefaultFeedRate;
        if (!TryReadInt(query, "queue", limits.DefaultQueueLength, 1, limits.MaxQueueLength, out int queue, ref error)
            || !TryReadInt(query, "rate", defaultRate, 1, maxRate, out int rate, ref error)
            || !TryReadInt(query, "size", limits.DefaultPayloadBytes, 0, limits.MaxPayloadBytes, out int size, ref error))
        {
            return null;
        }

        return new WebSocketSessionRequest(policy, queue, rate, size);
    }

    /// <summary>Reads a policy name: <c>drop-oldest</c>, <c>drop-newest</c> or <c>block</c>.</summary>
    public static bool TryParsePolicy(string? text, out OverflowPolicy policy)
    {
        (bool known, policy) = text switch
        {
            "drop-oldest" => (true, OverflowPolicy.DropOldest),
            "drop-newest" => (true, OverflowPolicy.DropNewest),
            "block" => (true, OverflowPolicy.Block),
            _ => (false, default),
        };
        return known;
    }

    /// <summary>The policy's name as the query string spells it.</summary>
    public static string PolicyName(OverflowPolicy policy) => policy switch
    {
        OverflowPolicy.DropOldest => "drop-oldest",
        OverflowPolicy.DropNewest => "drop-newest",
        _ => "block",
    };

    private static bool TryReadInt(IQueryCollection query, string key, int fallback, int min, int max, out int value, ref string? error)
    {
        string? text = query[key].FirstOrDefault();
        if (text is null)
        {
            value = fallback;
            return true;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
        {
            return true;
        }

        error = $"{key} must be a whole number from {min} to {max} (was '{text}').";
        return false;
    }
}
