using System.Diagnostics;
using Backpressure.Adaptive;

namespace Backpressure.Tests.Adaptive;

public sealed class ProcessCpuUsageTests
{
    [Fact]
    public void AThreadSpinning_ShowsAsCpuUse_AsAShareOfTheCores()
    {
        var usage = new ProcessCpuUsage(TimeProvider.System, TimeSpan.FromMilliseconds(100));
        var spun = Stopwatch.StartNew();
        long sink = 0;
        while (spun.ElapsedMilliseconds < 300)
        {
            sink++;
        }

        double reading = usage.Read();

        Assert.True(sink > 0);
        Assert.InRange(reading, 0.5 / Environment.ProcessorCount, 1);
    }

    [Fact]
    public void ReadingAgainWithinTheMinimumSpan_GivesThePreviousReading()
    {
        var usage = new ProcessCpuUsage(TimeProvider.System, TimeSpan.FromHours(1));

        Assert.Equal(usage.Read(), usage.Read());
    }
}
