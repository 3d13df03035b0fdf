namespace Backpressure.Server;

/// <summary>
/// Where the operational endpoints (<c>/stats</c>, <c>/metrics</c>, <c>/alerts</c>, <c>/dashboard</c> and its files)
/// are served, bound from <c>Backpressure:Management</c> and validated at start-up. By default they are served on the
/// HTTP listeners beside the service, to anyone who reaches them: fine on 127.0.0.1, not on a public address.
/// </summary>
public sealed class ManagementOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Backpressure:Management";

    /// <summary>
    /// A listener of their own, <c>http://HOST:PORT</c> (port 0 picks a free one), such as <c>http://127.0.0.1:9090</c>
    /// for a scraper on the same host or network: the operational endpoints are then served there only, and the
    /// service's listeners answer them 404. Unset by default.
    /// </summary>
    public string? Url { get; set; }

    /// <summary>
    /// Host names (as in the <c>Host</c> header, optionally <c>*.</c> prefixed or with <c>:PORT</c>) to which the
    /// operational endpoints answer; others get 404, as ASP.NET Core's <c>RequireHost</c> does. Useful behind a proxy
    /// that routes an internal name; the header is the client's to choose, so a listener of their own is the stronger
    /// separation. Unset by default: any host.
    /// </summary>
    public string[]? Hosts { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is wrong.</summary>
    public void Validate()
    {
        if (Url is not null)
        {
            Listeners.ParseAddress(Url, $"{Section}:{nameof(Url)}");
        }

        if (Hosts is not null && (Hosts.Length == 0 || Hosts.Any(h => string.IsNullOrWhiteSpace(h) || h.Any(char.IsWhiteSpace))))
        {
            throw new ArgumentException($"{Section}:{nameof(Hosts)} must list host names without spaces (was [{string.Join(", ", Hosts)}]).", nameof(Hosts));
        }
    }
}
