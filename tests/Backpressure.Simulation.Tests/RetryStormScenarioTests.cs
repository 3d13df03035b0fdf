using Backpressure.Simulation;

namespace Backpressure.Simulation.Tests;

/// <summary>S8, the retry storm of issue 18, on the deterministic simulation: exact assertions on repeatable figures.</summary>
public sealed class RetryStormScenarioTests
{
    // The reference every client is compared with: 24 runs, made once for the class.
    private static readonly Lazy<double> s_calmGoodput = new(() => Shedding.MeanCallGoodput(Shedding.Limit, 0));

    private static PhaseResult Run(int contender) => Simulation.Run(Scenarios.RetryStorm(3), Shedding.RetryStormContenders[contender])["storm"];

    [Fact]
    public void ClientsThatRetryBlindly_MultiplyTheLoadAboutThreefold()
    {
        PhaseResult blind = Run(0);

        Assert.True(blind.Amplification > 2.5, $"amplification {blind.Amplification:F2}");
    }

    [Fact]
    public void ARetryBudget_HoldsTheAmplificationToTenPercentAndItsFloor_WithoutLosingGoodput()
    {
        PhaseResult budget = Run(1);

        // 10 % of the 1600 calls a second, plus the floor of 10 retries per 10 s window.
        double bound = 1 + 0.1 + (10.0 / 10 / 1600);
        Assert.True(budget.Amplification <= bound, $"amplification {budget.Amplification:F4}, bound {bound:F4}");
        AssertNoGoodputLost(Shedding.RetryStormContenders[1]);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public void TheThrottle_WithTheBudgetOrAlone_SendsUnderOnePointOneRequestsPerCall_WithoutLosingGoodput(int contender)
    {
        PhaseResult throttled = Run(contender);

        // Attempts it refuses are retried, as the client handler retries them, but each retry asks the throttle again.
        Assert.True(throttled.Amplification <= 1.1, $"amplification {throttled.Amplification:F3}");
        Assert.True(throttled.LocallyRefused > 0, "the throttle refused nothing");
        AssertNoGoodputLost(Shedding.RetryStormContenders[contender]);
    }

    // One run's goodput moves by a few calls a second with its draws (the difference between two clients on the
    // same draws has a standard deviation of 2.5-4.5/s), more than a client that costs nothing can be held to.
    // So goodput is compared on the mean of 24 runs, whose noise is under 1/s, within 2/s (0.25 % of capacity).
    // Behind the limit as it was before VariabilityAllowance (its thinner queue idled when the throttle thinned the
    // arrivals), the throttle lost 4.5-4.9/s on this mean and failed here.
    private static void AssertNoGoodputLost(Contender clients)
    {
        double calm = s_calmGoodput.Value;
        double retrying = Shedding.MeanCallGoodput(clients, 3);

        Assert.True(retrying >= calm - 2, $"mean goodput {retrying:F1}/s against {calm:F1}/s without retries");
    }
}
