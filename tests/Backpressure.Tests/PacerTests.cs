using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests;

public sealed class PacerTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void EventsFallDueOnAFixedSchedule()
    {
        var pacer = new Pacer(100, timeProvider: _time);

        long atStart = pacer.TakeDue();
        _time.Advance(TimeSpan.FromMilliseconds(35));
        long after35 = pacer.TakeDue();
        _time.Advance(TimeSpan.FromMilliseconds(5));
        long after40 = pacer.TakeDue();

        Assert.Equal(0, atStart);
        Assert.Equal(3, after35);
        Assert.Equal(1, after40);
        Assert.Equal(4, pacer.Taken);
    }

    [Fact]
    public void AfterAStall_AtMostTheBurstIsDue_AndTheScheduleSlipsRatherThanCatchingUp()
    {
        var pacer = new Pacer(1000, burst: 10, timeProvider: _time);

        _time.Advance(TimeSpan.FromSeconds(1));
        long afterStall = pacer.TakeDue();
        _time.Advance(TimeSpan.FromMilliseconds(5));
        long fiveLater = pacer.TakeDue();

        Assert.Equal(10, afterStall);
        Assert.Equal(5, fiveLater);
    }

    [Fact]
    public void TakeDue_TakesNoMoreThanAsked_LeavingTheRestDue()
    {
        var pacer = new Pacer(100, timeProvider: _time);
        _time.Advance(TimeSpan.FromMilliseconds(50));

        long first = pacer.TakeDue(1);
        long rest = pacer.TakeDue();

        Assert.Equal(1, first);
        Assert.Equal(4, rest);
    }

    [Fact]
    public async Task WaitTurnAsync_ReturnsOnlyWhenTheNextEventIsDue()
    {
        var pacer = new Pacer(10, timeProvider: _time);

        ValueTask turn = pacer.WaitTurnAsync(CancellationToken.None);
        bool doneEarly = turn.IsCompleted;
        _time.Advance(TimeSpan.FromMilliseconds(99));
        bool doneAt99 = turn.IsCompleted;
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await turn;

        Assert.False(doneEarly);
        Assert.False(doneAt99);
        Assert.Equal(1, pacer.Taken);
    }

    [Fact]
    public async Task WaitTurnAsync_StopsWhenCancelled()
    {
        var pacer = new Pacer(1, timeProvider: _time);
        using var cancel = new CancellationTokenSource();

        ValueTask turn = pacer.WaitTurnAsync(cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => turn.AsTask());
        Assert.Equal(0, pacer.Taken);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void ARateThatIsNotAPositiveNumber_IsRefusedNamingIt(double rate)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new Pacer(rate));

        Assert.Equal("rate", error.ParamName);
    }

    [Fact]
    public void ABurstBelowOne_IsRefusedNamingIt()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new Pacer(10, burst: 0));

        Assert.Equal("burst", error.ParamName);
    }
}
