using System.Net;
using Backpressure.Server.Grpc;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Backpressure.Server;

/// <summary>
/// Kestrel's listeners: the HTTP addresses (<c>--urls</c>), which serve HTTP/1.1 (HTTP/2 without TLS needs prior knowledge, which browsers and load tools lack), and the gRPC
/// address, which serves cleartext HTTP/2 only, with the gRPC options' windows and stream limit.
/// Kestrel cannot mix <c>--urls</c> with a listener of its own, so both are bound here explicitly.
/// </summary>
internal sealed class Listeners
{
    private ListenOptions? _grpc;

    /// <summary>The gRPC listener's bound address, such as <c>http://127.0.0.1:8081</c>, once the server has started.</summary>
    public Uri GrpcAddress => _grpc?.IPEndPoint is { } bound
        ? new Uri($"http://{bound}")
        : throw new InvalidOperationException("The gRPC listener is not bound yet.");

    /// <summary>Binds <paramref name="httpUrls"/> and the gRPC URL, and applies the gRPC options' HTTP/2 limits.</summary>
    /// <exception cref="ArgumentException">An address is not <c>http://</c> an IP address, <c>localhost</c> or <c>*</c>, with a port.</exception>
    public void Configure(KestrelServerOptions kestrel, IEnumerable<string> httpUrls, GrpcEndpointOptions grpc)
    {
        foreach (string url in httpUrls)
        {
            Listen(kestrel, url, "urls", HttpProtocols.Http1);
        }

        _grpc = Listen(kestrel, grpc.Url, $"{GrpcEndpointOptions.Section}:{nameof(GrpcEndpointOptions.Url)}", HttpProtocols.Http2);
        Http2Limits http2 = kestrel.Limits.Http2;
        http2.InitialConnectionWindowSize = grpc.InitialConnectionWindowSize;
        http2.InitialStreamWindowSize = grpc.InitialStreamWindowSize;
        http2.MaxStreamsPerConnection = grpc.MaxStreamsPerConnection;
    }

    /// <summary>
    /// Parses a listening address as this server accepts it: <c>http://</c>, a port, no path, and an
    /// IP address, <c>localhost</c> or <c>*</c> as the host. Shared by the gRPC options' validation and
    /// the binding, so both refuse the same addresses with the same message.
    /// </summary>
    /// <exception cref="ArgumentException">It is not such an address; the message names <paramref name="setting"/>.</exception>
    internal static BindingAddress ParseAddress(string url, string setting)
    {
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(url);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"{setting}: '{url}' is not http://HOST:PORT: {e.Message}", setting, e);
        }

        if (address.Scheme != "http" || address.IsUnixPipe || address.Port < 0 || address.PathBase.Length > 0)
        {
            throw new ArgumentException($"{setting}: '{url}' is not http://HOST:PORT with no path; this server listens on cleartext HTTP only.", setting);
        }

        string host = address.Host.Trim('[', ']');
        if (host is not ("*" or "+") && !string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) && !IPAddress.TryParse(host, out _))
        {
            throw new ArgumentException($"{setting}: '{url}' names a host; give an IP address, localhost or *.", setting);
        }

        return address;
    }

    private static ListenOptions Listen(KestrelServerOptions kestrel, string url, string setting, HttpProtocols protocols)
    {
        BindingAddress address = ParseAddress(url, setting);
        ListenOptions? bound = null;
        void Configure(ListenOptions options)
        {
            options.Protocols = protocols;
            bound = options;
        }

        string host = address.Host.Trim('[', ']');
        if (host is "*" or "+")
        {
            kestrel.ListenAnyIP(address.Port, Configure);
        }
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(address.Port, Configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(host), address.Port, Configure);
        }

        return bound!;
    }
}
