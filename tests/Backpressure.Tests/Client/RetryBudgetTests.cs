using Backpressure.Client;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.Client;

public sealed class RetryBudgetTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Retries_AreCappedAtTheirShareOfRequests_PlusTheFloor()
    {
        var budget = new RetryBudget(new RetryBudgetOptions { RetryRatio = 0.1, MinRetriesPerWindow = 5 }, _time);
        for (int i = 0; i < 200; i++)
        {
            budget.RecordRequest();
        }

        int allowed = 0;
        while (allowed < 1000 && budget.TryRetry())
        {
            allowed++;
        }

        Assert.Equal(25, allowed);
    }

    [Fact]
    public void WithNoTraffic_OnlyTheFloorMayRetry()
    {
        var budget = new RetryBudget(new RetryBudgetOptions { MinRetriesPerWindow = 3 }, _time);

        Assert.True(budget.TryRetry());
        Assert.True(budget.TryRetry());
        Assert.True(budget.TryRetry());
        Assert.False(budget.TryRetry());
    }

    [Fact]
    public void ASpentBudget_ComesBackWhenTheWindowMovesOn()
    {
        var budget = new RetryBudget(new RetryBudgetOptions { MinRetriesPerWindow = 1, Window = TimeSpan.FromSeconds(10) }, _time);
        Assert.True(budget.TryRetry());
        Assert.False(budget.TryRetry());

        _time.Advance(TimeSpan.FromSeconds(11));

        Assert.True(budget.TryRetry());
    }

    [Theory]
    [InlineData(nameof(RetryBudgetOptions.RetryRatio))]
    [InlineData(nameof(RetryBudgetOptions.MinRetriesPerWindow))]
    [InlineData(nameof(RetryBudgetOptions.Window))]
    public void AnOutOfRangeOption_ThrowsNamingIt(string option)
    {
        var options = option switch
        {
            nameof(RetryBudgetOptions.RetryRatio) => new RetryBudgetOptions { RetryRatio = 1.5 },
            nameof(RetryBudgetOptions.MinRetriesPerWindow) => new RetryBudgetOptions { MinRetriesPerWindow = -1 },
            _ => new RetryBudgetOptions { Window = TimeSpan.FromHours(2) },
        };

        var e = Assert.Throws<ArgumentException>(() => new RetryBudget(options));

        Assert.Equal(option, e.ParamName);
    }
}
