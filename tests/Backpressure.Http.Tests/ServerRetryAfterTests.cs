using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Http.Tests;

public sealed class ServerRetryAfterTests
{
    private static HttpResponseMessage Refusal(params (string Name, string Value)[] headers)
    {
        var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        foreach ((string name, string value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }

        return response;
    }

    [Fact]
    public void RetryAfterMs_IsReadBeforeRetryAftersWholeSeconds()
    {
        using HttpResponseMessage response = Refusal(("Retry-After", "1"), ("Retry-After-Ms", "37"));

        Assert.Equal(TimeSpan.FromMilliseconds(37), ServerRetryAfter.Read(response));
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("soon")]
    [InlineData("86400001")]
    public void AMalformedOrAbsurdRetryAfterMs_IsIgnored_AndRetryAfterApplies(string milliseconds)
    {
        using HttpResponseMessage response = Refusal(("Retry-After", "2"), ("Retry-After-Ms", milliseconds));

        Assert.Equal(TimeSpan.FromSeconds(2), ServerRetryAfter.Read(response));
    }

    [Fact]
    public void ARetryAfterDate_IsTheTimeLeftUntilIt_OnTheGivenClock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        using HttpResponseMessage response = Refusal();
        response.Headers.RetryAfter = new RetryConditionHeaderValue(time.GetUtcNow().AddSeconds(90));

        Assert.Equal(TimeSpan.FromSeconds(90), ServerRetryAfter.Read(response, time));
    }

    [Fact]
    public void RateLimitWithNoneRemaining_GivesItsResetTime_AndNoHeaderGivesNull()
    {
        using HttpResponseMessage limited = Refusal(("RateLimit", "\"per-user\";r=0;t=7"));
        using HttpResponseMessage remaining = Refusal(("RateLimit", "\"per-user\";r=3;t=7"));
        using HttpResponseMessage bare = Refusal();

        Assert.Equal(TimeSpan.FromSeconds(7), ServerRetryAfter.Read(limited));
        Assert.Null(ServerRetryAfter.Read(remaining));
        Assert.Null(ServerRetryAfter.Read(bare));
    }
}
