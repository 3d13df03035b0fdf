using Backpressure.Cli.Demo;

namespace Backpressure.Cli.Tests;

public sealed class DemoSummaryTests
{
    private static DemoRow Row(string endpoint, double goodput, long errors, int inFlight) => new(
        endpoint, (long)(goodput * 15), 0, errors, 0, goodput, TimeSpan.FromMilliseconds(600), TimeSpan.FromMilliseconds(900),
        inFlight, inFlight * 8L * 1024 * 1024, 280L * 1024 * 1024, Survived: true, CrashReason: null, Retries: 0);

    [Fact]
    public void WithAllThreeEndpoints_OneSentenceComparesTheAdaptiveLimitWithTheUnprotectedAndTheFixedOnes()
    {
        string? summary = DemoCommand.Summary(
            [Row("/sync", 9.4, 0, 12), Row("/async", 30.6, 282, 28), Row("/backpressure", 18.1, 0, 10), Row("/adaptive", 29.4, 0, 21)]);

        Assert.Equal(
            "In short: /adaptive found its own limit (21 at most in flight) and served 29.4 calls/s with no call failing, "
            + "against 30.6/s for /async (282 failed) and 18.1/s for /backpressure's fixed limit.",
            summary);
    }

    [Fact]
    public void WhenTheAdaptiveRowLostCalls_TheSentenceSaysHowMany()
    {
        string? summary = DemoCommand.Summary([Row("/async", 20, 100, 30), Row("/backpressure", 18, 0, 10), Row("/adaptive", 28, 5, 22)]);

        Assert.Contains("with 5 calls failing", summary, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutTheAdaptiveRow_ThereIsNoSummary()
    {
        Assert.Null(DemoCommand.Summary([Row("/async", 20, 100, 30), Row("/backpressure", 18, 0, 10)]));
    }
}
