using Backpressure.Client;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.Client;

public sealed class AdaptiveThrottleTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void WhileEveryRequestIsAccepted_NothingIsRefused()
    {
        var throttle = new AdaptiveThrottle(timeProvider: _time, random: () => 0);

        for (int i = 0; i < 1000; i++)
        {
            Assert.True(throttle.TryAcquire());
            throttle.RecordAccepted();
        }

        Assert.Equal(0, throttle.RefusalProbability);
    }

    [Fact]
    public void WhenNothingIsAccepted_TheRefusalProbabilityFollowsTheBooksFormula()
    {
        var throttle = new AdaptiveThrottle(new AdaptiveThrottleOptions { MinRequests = 0 }, _time, () => 0.999);

        // 30 requests, 10 accepted: (30 − 2 · 10) / (30 + 1).
        for (int i = 0; i < 30; i++)
        {
            throttle.TryAcquire();
            if (i < 10)
            {
                throttle.RecordAccepted();
            }
        }

        Assert.Equal(10.0 / 31, throttle.RefusalProbability, 12);
    }

    [Fact]
    public void AClientMostlyRefused_StopsSendingMostOfItsRequests_ButNeverAll()
    {
        var draws = new Random(7);
        var throttle = new AdaptiveThrottle(timeProvider: _time, random: draws.NextDouble);

        int sent = 0;
        for (int i = 0; i < 10_000; i++)
        {
            if (throttle.TryAcquire())
            {
                sent++;
            }
        }

        Assert.InRange(sent, 1, 100);
    }

    [Fact]
    public void OldCountsLeaveTheWindow_SoAServerThatRecoveredIsSentToAgain()
    {
        var throttle = new AdaptiveThrottle(new AdaptiveThrottleOptions { Window = TimeSpan.FromSeconds(10) }, _time, () => 0.5);
        for (int i = 0; i < 100; i++)
        {
            throttle.TryAcquire();
        }

        Assert.True(throttle.RefusalProbability > 0.9);
        _time.Advance(TimeSpan.FromSeconds(11));

        Assert.Equal(0, throttle.RefusalProbability);
        Assert.True(throttle.TryAcquire());
    }

    [Fact]
    public void BelowMinRequests_NothingIsRefused_HoweverFewAreAccepted()
    {
        var throttle = new AdaptiveThrottle(new AdaptiveThrottleOptions { MinRequests = 10 }, _time, () => 0);
        for (int i = 0; i < 9; i++)
        {
            throttle.TryAcquire();
        }

        Assert.Equal(0, throttle.RefusalProbability);
        throttle.TryAcquire();
        Assert.Equal(10.0 / 11, throttle.RefusalProbability, 12);
    }

    [Theory]
    [InlineData(nameof(AdaptiveThrottleOptions.K))]
    [InlineData(nameof(AdaptiveThrottleOptions.Window))]
    public void AnOutOfRangeOption_ThrowsNamingIt(string option)
    {
        var options = option == nameof(AdaptiveThrottleOptions.K)
            ? new AdaptiveThrottleOptions { K = 0.5 }
            : new AdaptiveThrottleOptions { Window = TimeSpan.Zero };

        var e = Assert.Throws<ArgumentException>(() => new AdaptiveThrottle(options));

        Assert.Equal(option, e.ParamName);
    }
}
