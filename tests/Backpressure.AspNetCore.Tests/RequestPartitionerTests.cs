using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore.Tests;

public sealed class RequestPartitionerTests
{
    private static DefaultHttpContext From(string address, Action<HttpRequest>? request = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);
        request?.Invoke(context.Request);
        return context;
    }

    [Fact]
    public void RemoteAddress_KeysOnTheAddress_AndIgnoresAClientIdHeader()
    {
        var withHeader = From("10.1.2.3", r => r.Headers["X-Client-Id"] = "someone-else");

        Assert.Equal("ip:10.1.2.3", RequestPartitioner.RemoteAddress.KeyOf(withHeader));
        Assert.Equal("ip:10.1.2.3", RequestPartitioner.RemoteAddress.KeyOf(From("::ffff:10.1.2.3")));
        Assert.Equal("ip:unknown", RequestPartitioner.RemoteAddress.KeyOf(new DefaultHttpContext()));
    }

    [Fact]
    public void RemoteAddress_CountsAnIPv6ClientByItsSlash64()
    {
        string first = RequestPartitioner.RemoteAddress.KeyOf(From("2001:db8:1:2:aaaa::1"));
        string rotated = RequestPartitioner.RemoteAddress.KeyOf(From("2001:db8:1:2:bbbb::7"));
        string neighbour = RequestPartitioner.RemoteAddress.KeyOf(From("2001:db8:1:3::1"));

        Assert.Equal("ip:2001:db8:1:2::/64", first);
        Assert.Equal(first, rotated);
        Assert.NotEqual(first, neighbour);
    }

    [Fact]
    public void AuthenticatedUser_KeysOnTheClaim_AndAnAnonymousRequestOnItsAddress()
    {
        var signedIn = From("10.0.0.1");
        signedIn.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "alice")], authenticationType: "test"));
        var anonymous = From("10.0.0.2");
        anonymous.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "mallory")]));

        Assert.Equal("user:alice", RequestPartitioner.AuthenticatedUser("sub").KeyOf(signedIn));
        Assert.Equal("ip:10.0.0.2", RequestPartitioner.AuthenticatedUser("sub").KeyOf(anonymous));
    }

    [Fact]
    public void ApiKey_KeysOnAHashOfAKnownKey_AndAnUnknownKeyOnTheAddress()
    {
        RequestPartitioner byKey = RequestPartitioner.ApiKey("X-Api-Key", key => key == "issued-secret");

        string known = byKey.KeyOf(From("10.0.0.1", r => r.Headers["X-Api-Key"] = "issued-secret"));
        string invented = byKey.KeyOf(From("10.0.0.9", r => r.Headers["X-Api-Key"] = "made-up"));

        Assert.StartsWith("key:", known, StringComparison.Ordinal);
        Assert.DoesNotContain("issued-secret", known, StringComparison.Ordinal);
        Assert.Equal(byKey.KeyOf(From("10.0.0.5", r => r.Headers["X-Api-Key"] = "issued-secret")), known);
        Assert.Equal("ip:10.0.0.9", invented);
    }

    [Fact]
    public void ClientChosenHeader_KeysOnTheTrimmedHeader_CutTo128Characters()
    {
        RequestPartitioner byHeader = RequestPartitioner.ClientChosenHeader("X-Client-Id");

        Assert.Equal("header:alice", byHeader.KeyOf(From("10.0.0.1", r => r.Headers["X-Client-Id"] = " alice ")));
        Assert.Equal("ip:10.0.0.1", byHeader.KeyOf(From("10.0.0.1")));
        Assert.Equal("header:".Length + 128, byHeader.KeyOf(From("10.0.0.1", r => r.Headers["X-Client-Id"] = new string('x', 1000))).Length);
    }

    [Fact]
    public void Custom_KeysAreCutTo128Characters()
    {
        RequestPartitioner custom = RequestPartitioner.Custom("tenant", c => c.Request.Headers["X-Tenant"].ToString());

        Assert.Equal(128, custom.KeyOf(From("10.0.0.1", r => r.Headers["X-Tenant"] = new string('t', 500))).Length);
        Assert.Equal("tenant", custom.Description);
    }
}
