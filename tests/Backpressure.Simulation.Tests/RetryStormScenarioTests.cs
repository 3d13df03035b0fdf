using Backpressure.Simulation;

namespace Backpressure.Simulation.Tests;

/// <summary>S8, the retry storm of issue 18, on the deterministic simulation: exact assertions on repeatable figures.</summary>
public sealed class RetryStormScenarioTests
{
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
        PhaseResult calm = Simulation.Run(Scenarios.RetryStorm(0), Shedding.Limit)["storm"];
        PhaseResult budget = Run(1);

        // 10 % of the 1600 calls a second, plus the floor of 10 retries per 10 s window.
        double bound = 1 + 0.1 + (10.0 / 10 / 1600);
        Assert.True(budget.Amplification <= bound, $"amplification {budget.Amplification:F4}, bound {bound:F4}");
        Assert.True(budget.CallGoodput >= calm.CallGoodput, $"goodput {budget.CallGoodput}/s against {calm.CallGoodput}/s without retries");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public void TheThrottle_WithTheBudgetOrAlone_SendsUnderOnePointOneRequestsPerCall_WithoutLosingGoodput(int contender)
    {
        PhaseResult calm = Simulation.Run(Scenarios.RetryStorm(0), Shedding.Limit)["storm"];
        PhaseResult throttled = Run(contender);

        // Attempts it refuses are retried, as the client handler retries them, but each retry asks the throttle again.
        Assert.True(throttled.Amplification <= 1.1, $"amplification {throttled.Amplification:F3}");
        Assert.True(throttled.LocallyRefused > 0, "the throttle refused nothing");
        Assert.True(throttled.CallGoodput >= calm.CallGoodput, $"goodput {throttled.CallGoodput}/s against {calm.CallGoodput}/s without retries");
    }
}
