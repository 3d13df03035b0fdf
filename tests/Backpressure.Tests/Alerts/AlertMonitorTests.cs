using Backpressure.Alerts;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.Alerts;

public sealed class AlertMonitorTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<string> _events = [];
    private double _depth;

    private AlertMonitor Monitor(TimeSpan @for, double threshold = 40)
    {
        var monitor = new AlertMonitor([new AlertRule("backlog", () => _depth, threshold, @for)], TimeSpan.FromSeconds(1), _time);
        monitor.Raised += s => _events.Add($"raised {s.Name} at {s.Value}");
        monitor.Cleared += s => _events.Add($"cleared {s.Name}");
        monitor.Start();
        return monitor;
    }

    private void Seconds(int seconds, double depth)
    {
        _depth = depth;
        for (int i = 0; i < seconds; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public void AValueAboveTheThreshold_IsPendingUntilItHasStayedAboveForTheDuration_ThenRaisedOnce()
    {
        using AlertMonitor monitor = Monitor(TimeSpan.FromSeconds(5));

        Seconds(5, 45);
        AlertStatus afterFive = monitor.GetStates()[0].Status;
        Seconds(1, 45);
        AlertStatus afterSix = monitor.GetStates()[0].Status;
        Seconds(10, 50);

        // The first evaluation above is at 1 s; 5 s later, at 6 s, the value has been above for the duration.
        Assert.Equal(AlertStatus.Pending, afterFive);
        Assert.Equal(AlertStatus.Firing, afterSix);
        Assert.Equal(["raised backlog at 45"], _events);
        Assert.Equal(_time.GetUtcNow() - TimeSpan.FromSeconds(10), monitor.GetStates()[0].RaisedAt);
    }

    [Fact]
    public void AFiringAlert_IsClearedAtTheFirstEvaluationBackUnder_AndMustWaitTheFullDurationToFireAgain()
    {
        using AlertMonitor monitor = Monitor(TimeSpan.FromSeconds(3));
        Seconds(4, 45);

        Seconds(1, 40);
        AlertState cleared = monitor.GetStates()[0];
        Seconds(3, 45);
        AlertStatus backAboveForThree = monitor.GetStates()[0].Status;
        Seconds(1, 45);

        Assert.Equal(AlertStatus.Inactive, cleared.Status);
        Assert.Null(cleared.Since);
        Assert.Equal(AlertStatus.Pending, backAboveForThree);
        Assert.Equal(["raised backlog at 45", "cleared backlog", "raised backlog at 45"], _events);
    }

    [Fact]
    public void AValueThatKeepsDippingUnderTheThreshold_NeverRaisesAnything()
    {
        using AlertMonitor monitor = Monitor(TimeSpan.FromSeconds(5));

        for (int i = 0; i < 30; i++)
        {
            Seconds(4, 100);
            Seconds(1, 10);
        }

        Assert.Empty(_events);
        Assert.Equal(AlertStatus.Inactive, monitor.GetStates()[0].Status);
    }

    [Fact]
    public void TheThresholdItselfIsNotAbove()
    {
        using AlertMonitor monitor = Monitor(TimeSpan.Zero);

        Seconds(3, 40);

        Assert.Empty(_events);
    }

    [Fact]
    public void ASignalThatThrows_CountsAsUnder_AndDoesNotStopTheOtherRules()
    {
        using var monitor = new AlertMonitor(
            [new AlertRule("broken", () => throw new InvalidOperationException("gone"), 0, TimeSpan.Zero), new AlertRule("fine", () => 1, 0, TimeSpan.Zero)],
            TimeSpan.FromSeconds(1), _time);
        monitor.Raised += s => _events.Add(s.Name);

        monitor.Evaluate();

        Assert.Equal(["fine"], _events);
        Assert.Equal(AlertStatus.Inactive, monitor.GetStates()[0].Status);
    }

    [Fact]
    public void TwoRulesWithOneName_AreRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => new AlertMonitor(
            [new AlertRule("same", () => 0, 1, TimeSpan.Zero), new AlertRule("same", () => 0, 2, TimeSpan.Zero)], TimeSpan.FromSeconds(1), _time));

        Assert.Contains("'same'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANegativeDurationOrANaNThreshold_IsRefusedNamingTheRule()
    {
        var negative = Assert.Throws<ArgumentException>(() => new AlertRule("late", () => 0, 1, TimeSpan.FromSeconds(-1)));
        var notANumber = Assert.Throws<ArgumentException>(() => new AlertRule("odd", () => 0, double.NaN, TimeSpan.Zero));

        Assert.Contains("'late'", negative.Message, StringComparison.Ordinal);
        Assert.Contains("'odd'", notANumber.Message, StringComparison.Ordinal);
    }
}
