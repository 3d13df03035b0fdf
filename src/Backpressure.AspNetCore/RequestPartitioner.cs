using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore;

/// <summary>
/// Who a request counts against: the partition key a per-client policy gives its own limiter. The
/// safe ones key on what the client cannot choose freely (its address, its authenticated identity, an
/// API key the application recognises); a header the client chooses is available only by name.
/// </summary>
/// <remarks>
/// Keys are prefixed by their kind (<c>ip:</c>, <c>user:</c>, <c>key:</c>, <c>header:</c>), so an
/// identity can never collide with an address, and cut to 128 characters, so a client cannot make the
/// server hold long keys. Whatever the partitioner, a policy holds at most
/// <see cref="PartitionedPolicyOptions.MaxPartitions"/> partitions.
/// </remarks>
public sealed class RequestPartitioner
{
    private const int MaxKeyLength = 128;

    private readonly Func<HttpContext, string> _keyOf;

    private RequestPartitioner(string description, Func<HttpContext, string> keyOf)
    {
        Description = description;
        _keyOf = keyOf;
    }

    /// <summary>
    /// The connection's remote address: the default. Behind a proxy, add ASP.NET Core's forwarded-headers
    /// middleware (<c>UseForwardedHeaders</c>, with the proxy in <c>KnownProxies</c>) before the endpoints,
    /// and this reads the client's address from <c>X-Forwarded-For</c>. An IPv6 client counts by its
    /// <c>/64</c> prefix (the block one host or site is given), so rotating addresses within it is no escape.
    /// </summary>
    public static RequestPartitioner RemoteAddress { get; } = new("remote address", context => AddressKey(context.Connection.RemoteIpAddress));

    /// <summary>What the partitioner keys on, for messages and documentation.</summary>
    public string Description { get; }

    /// <summary>
    /// The authenticated user, by the value of <paramref name="claimType"/> (by default the name
    /// identifier); a request with no authenticated user, or without that claim, counts by its remote address.
    /// Put the authentication middleware before the endpoints.
    /// </summary>
    /// <param name="claimType">The claim that identifies the user, such as <see cref="ClaimTypes.NameIdentifier"/> or <c>sub</c>.</param>
    public static RequestPartitioner AuthenticatedUser(string claimType = ClaimTypes.NameIdentifier)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(claimType);
        return new($"claim {claimType}", context =>
            context.User.Identity?.IsAuthenticated == true && context.User.FindFirst(claimType)?.Value is { Length: > 0 } value
                ? Cut("user:", value)
                : AddressKey(context.Connection.RemoteIpAddress));
    }

    /// <summary>
    /// An API key in the header <paramref name="headerName"/>, when <paramref name="isKnownKey"/> recognises
    /// it; a request with no key or an unknown one counts by its remote address, so inventing keys is no
    /// escape. The key is held (and, on Redis, stored) only as a hash, never in the clear.
    /// </summary>
    /// <param name="headerName">The header carrying the key, such as <c>X-Api-Key</c>.</param>
    /// <param name="isKnownKey">Whether a key is one the application issued. Called on every request: keep it fast.</param>
    public static RequestPartitioner ApiKey(string headerName, Func<string, bool> isKnownKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(headerName);
        ArgumentNullException.ThrowIfNull(isKnownKey);
        return new($"API key in {headerName}", context =>
            context.Request.Headers[headerName].ToString() is { Length: > 0 } key && isKnownKey(key)
                ? "key:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)), 0, 16)
                : AddressKey(context.Connection.RemoteIpAddress));
    }

    /// <summary>
    /// A header whose value the client chooses, such as <c>X-Client-Id</c>, else the remote address.
    /// <b>Unsafe against untrusted clients:</b> a client that changes the value gets a fresh limit each
    /// time. Use it only when something in front (a gateway that authenticates and sets the header) is
    /// trusted to set it. The partition bound still caps the memory such a client can take.
    /// </summary>
    /// <param name="headerName">The header, such as <c>X-Client-Id</c>.</param>
    public static RequestPartitioner ClientChosenHeader(string headerName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(headerName);
        return new($"client-chosen header {headerName}", context =>
            context.Request.Headers[headerName].ToString().Trim() is { Length: > 0 } value
                ? Cut("header:", value)
                : AddressKey(context.Connection.RemoteIpAddress));
    }

    /// <summary>A partitioner of the application's own; its keys are cut to 128 characters like the others'.</summary>
    /// <param name="description">What it keys on, for messages.</param>
    /// <param name="keyOf">The key of a request.</param>
    public static RequestPartitioner Custom(string description, Func<HttpContext, string> keyOf)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        ArgumentNullException.ThrowIfNull(keyOf);
        return new(description, context => Cut("", keyOf(context) ?? ""));
    }

    /// <summary>The partition key of <paramref name="context"/>.</summary>
    public string KeyOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return _keyOf(context);
    }

    /// <inheritdoc />
    public override string ToString() => Description;

    private static string Cut(string prefix, string value) =>
        prefix + (value.Length > MaxKeyLength ? value[..MaxKeyLength] : value);

    private static string AddressKey(IPAddress? address)
    {
        if (address is null)
        {
            return "ip:unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return "ip:" + address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return $"ip:{new IPAddress(bytes)}/64";
    }
}
