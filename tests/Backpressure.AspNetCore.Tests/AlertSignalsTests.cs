using Backpressure.Queues;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.AspNetCore.Tests;

/// <summary><see cref="AlertSignals"/>: what an alert rule's signal name reads, in any app that uses the library.</summary>
public sealed class AlertSignalsTests
{
    [Fact]
    public async Task GaugeUtilisation_ReadsAGaugesPermitsInFlightOverItsLimit()
    {
        await using ServiceProvider services = new ServiceCollection()
            .AddBackpressure(bp => bp.AddPressureGauge("reports", o => o.PermitLimit = 4))
            .BuildServiceProvider();
        Func<double> utilisation = services.GetRequiredService<AlertSignals>().Resolve("gauge.utilisation:reports");
        var gauge = services.GetRequiredKeyedService<PressureGauge>("reports");

        using var first = gauge.AttemptAcquire();
        Assert.Equal(0.25, utilisation());
        using var second = gauge.AttemptAcquire();
        Assert.Equal(0.5, utilisation());
    }

    [Fact]
    public async Task QueueDepthMax_ReadsTheDeepestQueueObservedUnderItsName_AndQueueDepthTheirSum()
    {
        await using ServiceProvider services = new ServiceCollection().AddBackpressureMetrics().BuildServiceProvider();
        var metrics = services.GetRequiredService<BackpressureMetrics>();
        var signals = services.GetRequiredService<AlertSignals>();
        Func<double> deepest = signals.Resolve("queue.depth.max:uploads");
        Func<double> total = signals.Resolve("queue.depth:uploads");
        var options = new BoundedMessageQueueOptions { Capacity = 10, OverflowPolicy = OverflowPolicy.Block };
        var small = new BoundedMessageQueue<int>(options, _ => 1);
        var large = new BoundedMessageQueue<int>(options, _ => 1);
        using IDisposable a = metrics.ObserveQueue("uploads", OverflowPolicy.Block, small.GetStatistics);
        using IDisposable b = metrics.ObserveQueue("uploads", OverflowPolicy.Block, large.GetStatistics);
        small.TryEnqueue(1);
        for (int i = 0; i < 5; i++)
        {
            large.TryEnqueue(i);
        }

        Assert.Equal(5, deepest());
        Assert.Equal(6, total());
        Assert.Equal(0, signals.Resolve("queue.depth:elsewhere")());
    }

    [Theory]
    [InlineData("queue.depth", "is not a signal")]
    [InlineData("cpu.usage:server", "is not a signal")]
    [InlineData("gauge.utilisation:nobody", "names no pressure gauge or adaptive limit called 'nobody'")]
    public async Task AnUnknownSignal_IsRefusedSayingWhy(string signal, string message)
    {
        await using ServiceProvider services = new ServiceCollection().AddBackpressureMetrics().BuildServiceProvider();

        var e = Assert.Throws<ArgumentException>(() => services.GetRequiredService<AlertSignals>().Resolve(signal));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
