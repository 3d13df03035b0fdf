using Backpressure.Client;

namespace Backpressure.Tests.Client;

public sealed class ClientBackpressureOptionsTests
{
    [Theory]
    [InlineData(0, 0.0, 50)]
    [InlineData(0, 0.5, 75)]
    [InlineData(1, 0.0, 100)]
    [InlineData(2, 1.0, 400)]
    public void RetryBackoff_DoublesTheDelayPerAttempt_AndDrawsBetweenHalfOfItAndAll(int attempt, double draw, double milliseconds)
    {
        var options = new ClientBackpressureOptions { RetryDelay = TimeSpan.FromMilliseconds(100) };

        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), options.RetryBackoff(attempt, draw));
    }
}
