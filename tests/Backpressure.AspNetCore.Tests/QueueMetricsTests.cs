using System.Diagnostics.Metrics;
using Backpressure.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.AspNetCore.Tests;

/// <summary><see cref="BackpressureMetrics.ObserveQueue"/>: a user's queues on the library's instruments, summed per kind and policy.</summary>
public sealed class QueueMetricsTests
{
    [Fact]
    public void QueuesOfOneKind_AreSummed_AndAQueueThatEnds_LeavesItsCountsInTheTotals()
    {
        var time = new FakeTimeProvider();
        using ServiceProvider services = new ServiceCollection().AddSingleton<TimeProvider>(time).AddBackpressureMetrics().BuildServiceProvider();
        var metrics = services.GetRequiredService<BackpressureMetrics>();
        IMeterFactory meters = services.GetRequiredService<IMeterFactory>();
        using var depth = new MetricCollector<long>(meters, BackpressureMeter.Name, "backpressure.queue.depth");
        using var deepest = new MetricCollector<long>(meters, BackpressureMeter.Name, "backpressure.queue.depth.max");
        using var enqueued = new MetricCollector<long>(meters, BackpressureMeter.Name, "backpressure.queue.enqueued");
        var options = new BoundedMessageQueueOptions { Capacity = 10, OverflowPolicy = OverflowPolicy.DropOldest };
        var first = new BoundedMessageQueue<int>(options, _ => 1);
        var second = new BoundedMessageQueue<int>(options, _ => 1);
        IDisposable firstObserved = metrics.ObserveQueue("feed", OverflowPolicy.DropOldest, first.GetStatistics);
        using IDisposable secondObserved = metrics.ObserveQueue("feed", OverflowPolicy.DropOldest, second.GetStatistics);
        for (int i = 0; i < 3; i++)
        {
            first.TryEnqueue(i);
        }

        second.TryEnqueue(0);

        depth.RecordObservableInstruments();
        deepest.RecordObservableInstruments();
        enqueued.RecordObservableInstruments();
        CollectedMeasurement<long> sum = Assert.Single(depth.GetMeasurementSnapshot());
        Assert.Equal(4, sum.Value);
        Assert.Equal("feed", sum.Tags[BackpressureMeter.QueueTag]);
        Assert.Equal("drop-oldest", sum.Tags[BackpressureMeter.OverflowPolicyTag]);
        Assert.Equal(3, Assert.Single(deepest.GetMeasurementSnapshot()).Value);
        Assert.Equal(4, Assert.Single(enqueued.GetMeasurementSnapshot()).Value);

        firstObserved.Dispose();

        // One collection's instruments share a snapshot of the queues that lasts 100 ms.
        time.Advance(TimeSpan.FromMilliseconds(200));
        depth.Clear();
        enqueued.Clear();
        depth.RecordObservableInstruments();
        enqueued.RecordObservableInstruments();

        Assert.Equal(1, Assert.Single(depth.GetMeasurementSnapshot()).Value);
        Assert.Equal(4, Assert.Single(enqueued.GetMeasurementSnapshot()).Value);
    }
}
