using Backpressure.Queues;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.Queues;

public sealed class QueueMemoryBudgetTests
{
    private static void EnqueueHundreds(BoundedMessageQueue<byte[]> queue, int messages)
    {
        for (int i = 0; i < messages; i++)
        {
            queue.TryEnqueue(new byte[100]);
        }
    }

    private static BoundedMessageQueue<byte[]> Queue(QueueMemoryBudget budget, OverflowPolicy policy = OverflowPolicy.DropOldest, long maxBytes = 1000) =>
        new(new BoundedMessageQueueOptions { Capacity = 1000, MaxBytes = maxBytes, OverflowPolicy = policy, Budget = budget }, m => m.Length);

    [Fact]
    public void WhileTheSumIsUnderTheLimit_EachQueueIsBoundOnlyByItsOwnLimit()
    {
        var budget = new QueueMemoryBudget(1000);
        using var a = Queue(budget);
        using var b = Queue(budget);

        for (int i = 0; i < 9; i++)
        {
            Assert.Equal(EnqueueOutcome.Enqueued, a.TryEnqueue(new byte[100]));
        }

        Assert.Equal(900, budget.Used);
        Assert.Equal(0, a.GetStatistics().Dropped);
        Assert.Equal(0, budget.PressureEvents);
    }

    [Fact]
    public void UnderPressure_TheLargestNewQueue_LosesItsOldestMessages_AsManyAsTheSumIsOver()
    {
        var budget = new QueueMemoryBudget(1000);
        using var slow = Queue(budget);
        using var fast = Queue(budget);
        EnqueueHundreds(slow, 10);

        // The budget is full; the fast consumer's message passes it, but its queue is far under its share (500), so it
        // is taken, and the largest queue that has not yet shown whether its client reads loses its oldest message.
        Assert.Equal(EnqueueOutcome.Enqueued, fast.TryEnqueue(new byte[100]));

        Assert.Equal(900, slow.GetStatistics().Bytes);
        Assert.Equal(1, slow.GetStatistics().Dropped);
        Assert.Equal(1000, budget.Used);
        Assert.Equal(0, fast.GetStatistics().Dropped);
        // For an instant the sum was one message over the limit.
        Assert.Equal(1100, budget.PeakUsed);
        Assert.Equal(1, budget.PressureEvents);
    }

    [Fact]
    public void UnderPressure_WhenNoQueueIsNewOrStalled_TheLargestIsTrimmedToItsShare()
    {
        var time = new FakeTimeProvider();
        var budget = new QueueMemoryBudget(1000, time);
        using var large = Queue(budget);
        using var small = Queue(budget);
        time.Advance(2 * QueueMemoryBudget.StalledAfter);
        foreach (var queue in new[] { large, small })
        {
            queue.TryEnqueue(new byte[100]);
            queue.TryDequeue(out _);
        }

        EnqueueHundreds(large, 10);

        // Both have read within the last second and are no longer new: neither is anyone's room, so the largest is held
        // to its share (500) at once.
        Assert.Equal(EnqueueOutcome.Enqueued, small.TryEnqueue(new byte[100]));

        Assert.Equal(500, large.GetStatistics().Bytes);
        Assert.Equal(5, large.GetStatistics().Dropped);
        Assert.Equal(600, budget.Used);
        Assert.Equal(0, small.GetStatistics().Dropped);
    }

    [Fact]
    public void UnderPressure_AQueueThatKeepsDelivering_GrowsPastItsShareAtTheExpenseOfStalledOnes_TheStalestFirst()
    {
        var time = new FakeTimeProvider();
        var budget = new QueueMemoryBudget(1000, time);
        var stalled = new List<BoundedMessageQueue<byte[]>>();
        for (int q = 0; q < 4; q++)
        {
            var queue = Queue(budget);
            stalled.Add(queue);
            queue.TryEnqueue(new byte[100]);
            queue.TryEnqueue(new byte[100]);
            // Each delivers one message and then stalls, the first one first.
            queue.TryDequeue(out _);
            queue.TryEnqueue(new byte[100]);
            queue.TryEnqueue(new byte[50]);
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        using var reader = Queue(budget);
        Assert.Equal(1000, budget.Used);
        Assert.Equal(200, budget.Share);
        // Long enough for the reader to have shown that it reads, and for the others to count as stalled.
        time.Advance(2 * QueueMemoryBudget.StalledAfter);
        Assert.Equal(EnqueueOutcome.Enqueued, reader.TryEnqueue(new byte[100]));
        Assert.True(reader.TryDequeue(out _));

        // The reader falls six messages behind: three times its share. Every message is taken, and the room is made
        // from the stalled queues, the one that stalled first emptied first.
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(EnqueueOutcome.Enqueued, reader.TryEnqueue(new byte[100]));
            Assert.True(budget.Used <= 1000, $"after message {i + 1} the budget held {budget.Used} bytes");
        }

        Assert.Equal(600, reader.GetStatistics().Bytes);
        Assert.Equal(0, reader.GetStatistics().Dropped);
        // 600 bytes, of which the first message took the room its delivered predecessor left: 500 were taken from them.
        Assert.Equal([0, 0, 150, 250], stalled.Select(q => q.GetStatistics().Bytes));
        // Its watermarks are measured against its own limit (1000), not its share: 60 % full is not a pause.
        Assert.False(reader.IsPaused);

        // A stalled queue is held to its share (200): its next message trims it from its own oldest end.
        Assert.Equal(EnqueueOutcome.Enqueued, stalled[3].TryEnqueue(new byte[100]));
        Assert.Equal(150, stalled[3].GetStatistics().Bytes);
        Assert.Equal(2, stalled[3].GetStatistics().Dropped);
        foreach (var queue in stalled)
        {
            queue.Dispose();
        }
    }

    [Fact]
    public void UnderPressure_AQueueAboveItsShareIsTrimmedToItByItsOwnNextMessage()
    {
        var budget = new QueueMemoryBudget(1000);
        using var large = Queue(budget);
        using var small = Queue(budget);
        for (int i = 0; i < 8; i++)
        {
            large.TryEnqueue(new byte[100]);
        }

        small.TryEnqueue(new byte[200]);
        Assert.Equal(1000, budget.Used);

        // The large one's next message would pass the budget: drop-oldest trims it to its share (500) with the message.
        Assert.Equal(EnqueueOutcome.Enqueued, large.TryEnqueue(new byte[100]));

        Assert.Equal(500, large.GetStatistics().Bytes);
        Assert.Equal(4, large.GetStatistics().Dropped);
        Assert.Equal(700, budget.Used);
        Assert.Equal(1000, budget.PeakUsed);
    }

    [Fact]
    public void NearTheLimit_AProvenReaderSignalsPauseAgainstItsOwnLimit_ANewQueueAgainstItsShare()
    {
        var time = new FakeTimeProvider();
        var budget = new QueueMemoryBudget(1000, time);
        using var reader = Queue(budget);
        using var other = Queue(budget);
        time.Advance(2 * QueueMemoryBudget.StalledAfter);
        reader.TryEnqueue(new byte[100]);
        reader.TryDequeue(out _);
        using var newcomer = Queue(budget);
        Assert.Equal(333, budget.Share);

        EnqueueHundreds(other, 3);
        EnqueueHundreds(reader, 3);
        EnqueueHundreds(newcomer, 3);
        reader.TryEnqueue(new byte[100]);

        // At 90 % of the budget and more, the newcomer's 300 bytes are 90 % of its share: a pause. The reader's 400 are
        // 40 % of its own limit: a client that reads is not told to pause before any room is known to be short.
        Assert.Equal(1000, budget.Used);
        Assert.True(newcomer.IsPaused);
        Assert.False(reader.IsPaused);
    }

    [Fact]
    public void UnderPressure_ABlockingQueueAboveItsShareIsFull_AndSignalsPauseAgainstItsShare()
    {
        var budget = new QueueMemoryBudget(1000);
        var signals = new List<FlowSignal>();
        using var blocking = new BoundedMessageQueue<byte[]>(
            new BoundedMessageQueueOptions { Capacity = 1000, MaxBytes = 10_000, OverflowPolicy = OverflowPolicy.Block, Budget = budget },
            m => m.Length,
            signals.Add);
        using var other = Queue(budget);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(EnqueueOutcome.Enqueued, blocking.TryEnqueue(new byte[100]));
        }

        // Own limit 10 000: 800 bytes is 8 % full, and the budget is under 90 % used: no pause yet.
        Assert.Empty(signals);
        other.TryEnqueue(new byte[200]);

        // Its share is 500: the message would pass the budget and the queue is over its share.
        Assert.Equal(EnqueueOutcome.Full, blocking.TryEnqueue(new byte[100]));
        Assert.Equal(0, blocking.GetStatistics().Dropped);
        // With the budget 90 % used (700 + 200 of 1000), 700 bytes measured against the share is over the high watermark.
        blocking.TryDequeue(out _);
        Assert.Equal([FlowSignal.Pause], signals);
    }

    [Fact]
    public void DisposingAQueue_GivesItsBytesBackAndLeavesTheShareToTheOthers()
    {
        var budget = new QueueMemoryBudget(1000);
        var gone = Queue(budget);
        using var staying = Queue(budget);
        gone.TryEnqueue(new byte[300]);
        staying.TryEnqueue(new byte[100]);
        Assert.Equal(500, budget.Share);

        gone.Dispose();
        gone.Dispose();

        Assert.Equal(100, budget.Used);
        Assert.Equal(1, budget.Queues);
        Assert.Equal(1000, budget.Share);
        Assert.Equal(EnqueueOutcome.Closed, gone.TryEnqueue(new byte[1]));
    }

    [Fact]
    public void TryReserve_RefusesWhatWouldPassTheLimit_AndReleaseGivesItBack()
    {
        var budget = new QueueMemoryBudget(1000);

        Assert.True(budget.TryReserve(600));
        Assert.False(budget.TryReserve(500));
        Assert.Equal(600, budget.Used);
        budget.Release(600);
        Assert.True(budget.TryReserve(1000));
        Assert.Equal(1000, budget.PeakUsed);
    }

    [Fact]
    public void ManyProducersOnManyQueues_LeaveTheAccountingExact()
    {
        var budget = new QueueMemoryBudget(10_000);
        var queues = Enumerable.Range(0, 8).Select(_ => Queue(budget, maxBytes: 5_000)).ToList();
        Parallel.For(0, 8, q =>
        {
            for (int i = 0; i < 5_000; i++)
            {
                queues[q].TryEnqueue(new byte[1 + (i % 50)]);
                if (i % 3 == 0)
                {
                    queues[q].TryDequeue(out _);
                }
            }
        });

        Assert.Equal(queues.Sum(q => q.GetStatistics().Bytes), budget.Used);
        foreach (var queue in queues)
        {
            queue.Dispose();
        }

        Assert.Equal(0, budget.Used);
        Assert.Equal(0, budget.Queues);
    }

    [Fact]
    public void ABudgetWithoutASizeFunction_IsRefusedNamingIt()
    {
        var failure = Assert.Throws<ArgumentException>(() => new BoundedMessageQueue<byte[]>(
            new BoundedMessageQueueOptions { Budget = new QueueMemoryBudget(1) }));

        Assert.Contains("Budget", failure.Message, StringComparison.Ordinal);
    }
}
