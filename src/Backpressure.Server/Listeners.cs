using System.Net;
using Backpressure.Server.Grpc;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Backpressure.Server;

/// <summary>
/// Kestrel's listeners: the HTTP addresses (<c>--urls</c>), which serve HTTP/1.1 (HTTP/2 without TLS needs prior knowledge, which browsers and load tools lack);
/// the gRPC address, which serves cleartext HTTP/2 only, with the gRPC options' windows and stream limit; and, when
/// <see cref="ManagementOptions.Url"/> is set, the management address. Kestrel cannot mix <c>--urls</c> with a listener
/// of its own, so all are bound here explicitly; and as Kestrel routes every listener to one pipeline,
/// <see cref="Serves"/> says which endpoints belong on which.
/// </summary>
internal sealed class Listeners
{
    private ListenOptions? _grpc;
    private ListenOptions? _management;

    /// <summary>The gRPC listener's bound address, such as <c>http://127.0.0.1:8081</c>, once the server has started.</summary>
    public Uri GrpcAddress => _grpc?.IPEndPoint is { } bound
        ? new Uri($"http://{bound}")
        : throw new InvalidOperationException("The gRPC listener is not bound yet.");

    /// <summary>The management listener's bound address once the server has started; null when there is none.</summary>
    public Uri? ManagementAddress => _management?.IPEndPoint is { } bound ? new Uri($"http://{bound}") : null;

    /// <summary>True when the operational endpoints have a listener of their own.</summary>
    public bool HasManagementListener => _management is not null;

    /// <summary>Binds <paramref name="httpUrls"/>, the gRPC URL and the management URL, and applies the gRPC options' HTTP/2 limits.</summary>
    /// <exception cref="ArgumentException">An address is not <c>http://</c> an IP address, <c>localhost</c> or <c>*</c>, with a port.</exception>
    public void Configure(KestrelServerOptions kestrel, IEnumerable<string> httpUrls, GrpcEndpointOptions grpc, ManagementOptions management)
    {
        foreach (string url in httpUrls)
        {
            Listen(kestrel, url, "urls", HttpProtocols.Http1);
        }

        _grpc = Listen(kestrel, grpc.Url, $"{GrpcEndpointOptions.Section}:{nameof(GrpcEndpointOptions.Url)}", HttpProtocols.Http2);
        if (management.Url is { } url2)
        {
            _management = Listen(kestrel, url2, $"{ManagementOptions.Section}:{nameof(ManagementOptions.Url)}", HttpProtocols.Http1);
        }

        Http2Limits http2 = kestrel.Limits.Http2;
        http2.InitialConnectionWindowSize = grpc.InitialConnectionWindowSize;
        http2.InitialStreamWindowSize = grpc.InitialStreamWindowSize;
        http2.MaxStreamsPerConnection = grpc.MaxStreamsPerConnection;
    }

    /// <summary>True when the request's listener is the management listener, or there is none and any listener serves operations.</summary>
    public bool ServesOperations(HttpContext context) =>
        _management is null ? !IsOn(context, _grpc) : IsOn(context, _management);

    /// <summary>
    /// True when the request's endpoint belongs on the listener it arrived on: gRPC methods on the gRPC listener only,
    /// operational endpoints on the management listener when there is one, everything else on the HTTP listeners.
    /// A request that matched no mapped endpoint belongs nowhere special: it will be a 404, a static file, or a 405
    /// (routing's rejection of a wrong method is an endpoint of its own, not a mapped one).
    /// </summary>
    public bool Serves(HttpContext context, Endpoint? endpoint)
    {
        bool mapped = endpoint is RouteEndpoint;
        bool grpcMethod = endpoint?.Metadata.GetMetadata<GrpcMethodMetadata>() is not null;
        bool operational = endpoint?.Metadata.GetMetadata<OperationalEndpoint>() is not null;
        if (IsOn(context, _grpc))
        {
            return grpcMethod;
        }

        if (_management is not null && IsOn(context, _management))
        {
            return operational || !mapped;
        }

        return !grpcMethod && !(operational && _management is not null);
    }

    /// <summary>
    /// Parses a listening address as this server accepts it: <c>http://</c>, a port, no path, and an
    /// IP address, <c>localhost</c> or <c>*</c> as the host. Shared by the options' validation and
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

    // Kestrel records the port it bound (also for port 0) in the listener's endpoint; a connection's local port says which it came in on.
    private static bool IsOn(HttpContext context, ListenOptions? listener) =>
        listener?.IPEndPoint is { } bound && context.Connection.LocalPort == bound.Port;

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
