using Backpressure.Client;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.Client;

public sealed class PushbackTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void NeverAskedFor_HasNothingRemaining()
    {
        Assert.True(new Pushback(_time).Remaining <= TimeSpan.Zero);
    }

    [Fact]
    public void ALaterRequestExtendsIt_AnEarlierOneNeverShortensIt_AndItRunsOut()
    {
        var pushback = new Pushback(_time);

        pushback.Extend(TimeSpan.FromSeconds(2));
        pushback.Extend(TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(2), pushback.Remaining);
        _time.Advance(TimeSpan.FromSeconds(1));
        pushback.Extend(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(3), pushback.Remaining);
        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.True(pushback.Remaining <= TimeSpan.Zero);
    }

    [Fact]
    public void AThrottledCall_WaitsTheLastWaitAskedFor_WhenUnderASecond_ElseASecond()
    {
        var pushback = new Pushback(_time);
        TimeSpan unasked = pushback.ThrottledWait;
        pushback.Note(TimeSpan.FromMilliseconds(40));
        TimeSpan noted = pushback.ThrottledWait;
        bool notedHoldsNothing = pushback.Remaining <= TimeSpan.Zero;
        pushback.Extend(TimeSpan.FromSeconds(3));
        TimeSpan longAsked = pushback.ThrottledWait;
        pushback.Note(TimeSpan.Zero);

        Assert.Equal(TimeSpan.FromSeconds(1), unasked);
        Assert.Equal(TimeSpan.FromMilliseconds(40), noted);
        Assert.True(notedHoldsNothing, "a noted wait held calls back");
        Assert.Equal(TimeSpan.FromSeconds(1), longAsked);
        Assert.Equal(TimeSpan.FromTicks(1), pushback.ThrottledWait);
    }
}
