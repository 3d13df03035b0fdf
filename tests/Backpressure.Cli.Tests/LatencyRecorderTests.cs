using Backpressure.Cli.Load;

namespace Backpressure.Cli.Tests;

public sealed class LatencyRecorderTests
{
    [Fact]
    public void Percentile_NeverReportsMoreThanTheSlowestCall()
    {
        var recorder = new LatencyRecorder();
        var slowest = TimeSpan.FromMicroseconds(9_992_700);
        for (int i = 0; i < 100; i++)
        {
            recorder.Record(slowest - TimeSpan.FromMicroseconds(i));
        }

        Assert.Equal(slowest, recorder.Slowest);
        Assert.Equal(slowest, recorder.Percentile(100));
        Assert.True(recorder.Percentile(99) <= slowest, $"p99 {recorder.Percentile(99)} is above the slowest call {slowest}");
    }

    [Fact]
    public void Percentile_NeverReportsLessThanTheFastestCall()
    {
        var recorder = new LatencyRecorder();
        var fastest = TimeSpan.FromMicroseconds(1_234_567);
        recorder.Record(fastest);

        Assert.Equal(fastest, recorder.Percentile(0));
        Assert.Equal(fastest, recorder.Percentile(50));
    }

    [Fact]
    public void Percentile_OfNoCalls_IsZero()
    {
        Assert.Equal(TimeSpan.Zero, new LatencyRecorder().Percentile(99));
    }
}
