using Backpressure.Queues;

namespace Backpressure.Tests.Queues;

public sealed class BoundedMessageQueueTests
{
    private static BoundedMessageQueue<int> Create(OverflowPolicy policy, int capacity, Action<FlowSignal>? flow = null) =>
        new(new BoundedMessageQueueOptions { Capacity = capacity, OverflowPolicy = policy }, flowChanged: flow);

    private static List<int> Drain<T>(BoundedMessageQueue<T> queue, Func<T, int> key)
    {
        var items = new List<int>();
        while (queue.TryDequeue(out T item))
        {
            items.Add(key(item));
        }

        return items;
    }

    private static byte[] Message(int size, byte tag)
    {
        var message = new byte[size];
        message[0] = tag;
        return message;
    }

    [Fact]
    public void DropOldest_EvictsTheOldest_SoTheNewestAreDelivered()
    {
        var queue = Create(OverflowPolicy.DropOldest, 3);
        foreach (int i in Enumerable.Range(1, 5))
        {
            Assert.Equal(EnqueueOutcome.Enqueued, queue.TryEnqueue(i));
        }

        MessageQueueStatistics before = queue.GetStatistics();
        Assert.Equal((5, 2, 3), (before.Enqueued, before.Dropped, before.Count));
        Assert.Equal([3, 4, 5], Drain(queue, i => i));
    }

    [Fact]
    public void DropNewest_RefusesTheNewMessage_AndKeepsWhatIsQueued()
    {
        var queue = Create(OverflowPolicy.DropNewest, 3);
        EnqueueOutcome[] outcomes = Enumerable.Range(1, 5).Select(queue.TryEnqueue).ToArray();

        Assert.Equal(
            [EnqueueOutcome.Enqueued, EnqueueOutcome.Enqueued, EnqueueOutcome.Enqueued, EnqueueOutcome.Dropped, EnqueueOutcome.Dropped],
            outcomes);
        Assert.Equal([1, 2, 3], Drain(queue, i => i));
        Assert.Equal(2, queue.GetStatistics().Dropped);
    }

    [Fact]
    public void Block_TryEnqueue_AnswersFull_WithoutTakingOrCountingTheMessage()
    {
        var queue = Create(OverflowPolicy.Block, 2);
        queue.TryEnqueue(1);
        queue.TryEnqueue(2);

        Assert.Equal(EnqueueOutcome.Full, queue.TryEnqueue(3));
        Assert.Equal(new MessageQueueStatistics(2, 0, 0, 2, 0, 2, 0, true, 1, 0), queue.GetStatistics());
    }

    [Fact]
    public async Task Block_ProducerWaitsForRoom_AndEveryMessageArrivesInOrder()
    {
        var queue = Create(OverflowPolicy.Block, 2);
        Task producer = Task.Run(async () =>
        {
            for (int i = 1; i <= 200; i++)
            {
                Assert.Equal(EnqueueOutcome.Enqueued, await queue.EnqueueAsync(i));
            }

            queue.Complete();
        });

        var received = new List<int>();
        await foreach (int item in queue.ReadAllAsync())
        {
            received.Add(item);
            if (item % 50 == 0)
            {
                await Task.Yield();
            }
        }

        await producer;
        Assert.Equal(Enumerable.Range(1, 200), received);
        Assert.Equal(0, queue.GetStatistics().Dropped);
        Assert.True(queue.GetStatistics().PeakCount <= 2);
    }

    [Fact]
    public async Task Block_CancelledWait_ThrowsAndLeavesNoTraceInTheAccounting()
    {
        var queue = Create(OverflowPolicy.Block, 1);
        queue.TryEnqueue(1);
        using var cancel = new CancellationTokenSource();

        ValueTask<EnqueueOutcome> waiting = queue.EnqueueAsync(2, cancel.Token);
        Assert.False(waiting.IsCompleted);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);
        MessageQueueStatistics stats = queue.GetStatistics();
        Assert.Equal((1, 1, 0), (stats.Enqueued, stats.Count, stats.Dropped));
    }

    [Fact]
    public async Task Complete_WakesABlockedProducerWithClosed_AndConsumersDrainWhatIsQueued()
    {
        var queue = Create(OverflowPolicy.Block, 1);
        queue.TryEnqueue(1);
        ValueTask<EnqueueOutcome> waiting = queue.EnqueueAsync(2);

        queue.Complete();

        Assert.Equal(EnqueueOutcome.Closed, await waiting);
        Assert.Equal(EnqueueOutcome.Closed, queue.TryEnqueue(3));
        Assert.Equal([1], await queue.ReadAllAsync().ToListAsync());
    }

    [Fact]
    public void ByteLimit_DropOldest_EvictsUntilTheNewMessageFits_EvenWithCountToSpare()
    {
        var queue = new BoundedMessageQueue<byte[]>(
            new BoundedMessageQueueOptions { Capacity = 100, MaxBytes = 1000, OverflowPolicy = OverflowPolicy.DropOldest },
            m => m.Length);
        for (byte i = 1; i <= 3; i++)
        {
            queue.TryEnqueue(Message(300, i));
        }

        queue.TryEnqueue(Message(500, 4));

        MessageQueueStatistics stats = queue.GetStatistics();
        Assert.Equal((2, 800L, 2L), (stats.Count, stats.Bytes, stats.Dropped));
        Assert.Equal([3, 4], Drain(queue, m => m[0]));
    }

    [Fact]
    public async Task ByteLimit_Block_WaitsForBytes_EvenWithCountToSpare()
    {
        var queue = new BoundedMessageQueue<byte[]>(
            new BoundedMessageQueueOptions { Capacity = 100, MaxBytes = 1000, OverflowPolicy = OverflowPolicy.Block },
            m => m.Length);
        queue.TryEnqueue(new byte[600]);

        ValueTask<EnqueueOutcome> waiting = queue.EnqueueAsync(new byte[600]);
        Assert.False(waiting.IsCompleted);
        Assert.True(queue.TryDequeue(out _));

        Assert.Equal(EnqueueOutcome.Enqueued, await waiting);
        Assert.Equal(600, queue.GetStatistics().Bytes);
    }

    [Fact]
    public void AMessageLargerThanTheByteLimit_IsDroppedUnderDropPolicies_AndRejectedUnderBlock()
    {
        var options = new BoundedMessageQueueOptions { Capacity = 10, MaxBytes = 100, OverflowPolicy = OverflowPolicy.DropOldest };
        var dropping = new BoundedMessageQueue<byte[]>(options, m => m.Length);
        dropping.TryEnqueue(new byte[50]);

        Assert.Equal(EnqueueOutcome.Dropped, dropping.TryEnqueue(new byte[101]));
        Assert.Equal(1, dropping.Count);

        options.OverflowPolicy = OverflowPolicy.Block;
        var blocking = new BoundedMessageQueue<byte[]>(options, m => m.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => blocking.TryEnqueue(new byte[101]));
    }

    [Fact]
    public void Watermarks_PauseAtTheHighMark_ResumeOnlyAtTheLowMark_AndDoNotFlapBetween()
    {
        var signals = new List<FlowSignal>();
        var queue = new BoundedMessageQueue<int>(
            new BoundedMessageQueueOptions { Capacity = 10, HighWatermark = 0.8, LowWatermark = 0.4, OverflowPolicy = OverflowPolicy.Block },
            flowChanged: signals.Add);

        for (int i = 0; i < 7; i++)
        {
            queue.TryEnqueue(i);
        }

        Assert.Empty(signals);
        queue.TryEnqueue(7);
        Assert.Equal([FlowSignal.Pause], signals);

        // Hovering around the high mark, and down to one above the low mark, changes nothing.
        for (int round = 0; round < 5; round++)
        {
            queue.TryDequeue(out _);
            queue.TryEnqueue(round);
        }

        while (queue.Count > 5)
        {
            queue.TryDequeue(out _);
        }

        Assert.Equal([FlowSignal.Pause], signals);
        queue.TryDequeue(out _);
        Assert.Equal([FlowSignal.Pause, FlowSignal.Resume], signals);
        Assert.False(queue.IsPaused);
        Assert.Equal((1L, 1L), (queue.GetStatistics().Pauses, queue.GetStatistics().Resumes));
    }

    [Theory]
    [InlineData(OverflowPolicy.DropOldest)]
    [InlineData(OverflowPolicy.DropNewest)]
    [InlineData(OverflowPolicy.Block)]
    public async Task Accounting_EnqueuedEqualsDeliveredPlusDroppedPlusQueued_InEverySnapshot_UnderConcurrentProducers(OverflowPolicy policy)
    {
        for (int seed = 0; seed < 30; seed++)
        {
            var random = new Random(seed);
            const int producers = 4;
            int perProducer = random.Next(100, 400);
            var queue = new BoundedMessageQueue<(int Producer, int Seq, int Size)>(
                new BoundedMessageQueueOptions
                {
                    Capacity = random.Next(1, 20),
                    MaxBytes = random.Next(2) == 0 ? 0 : 2000,
                    OverflowPolicy = policy,
                },
                m => m.Size);
            int[] sizes = Enumerable.Range(0, producers * perProducer).Select(_ => random.Next(1, 500)).ToArray();

            Task[] producing = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
            {
                for (int seq = 0; seq < perProducer; seq++)
                {
                    EnqueueOutcome outcome = await queue.EnqueueAsync((p, seq, sizes[(p * perProducer) + seq]));
                    Assert.NotEqual(EnqueueOutcome.Full, outcome);
                }
            })).ToArray();
            var delivered = new List<(int Producer, int Seq, int Size)>();
            Task consuming = Task.Run(async () =>
            {
                await foreach (var item in queue.ReadAllAsync())
                {
                    delivered.Add(item);
                }
            });

            Task all = Task.WhenAll(producing);
            while (!all.IsCompleted)
            {
                MessageQueueStatistics snapshot = queue.GetStatistics();
                Assert.Equal(snapshot.Enqueued, snapshot.Delivered + snapshot.Dropped + snapshot.Count);
                Assert.InRange(snapshot.Count, 0, snapshot.PeakCount);
                await Task.Yield();
            }

            await all;
            queue.Complete();
            await consuming;

            MessageQueueStatistics final = queue.GetStatistics();
            Assert.Equal(producers * perProducer, final.Enqueued);
            Assert.Equal(final.Enqueued, final.Delivered + final.Dropped);
            Assert.Equal(delivered.Count, final.Delivered);
            Assert.Equal(0, final.Count);
            if (policy == OverflowPolicy.Block)
            {
                Assert.Equal(0, final.Dropped);
            }

            foreach (var fromOne in delivered.GroupBy(d => d.Producer))
            {
                int[] order = fromOne.Select(d => d.Seq).ToArray();
                Assert.Equal(order.Order(), order);
            }
        }
    }

    [Theory]
    [InlineData(0, 0, 0.8, 0.4, "Capacity")]
    [InlineData(10, -1, 0.8, 0.4, "MaxBytes")]
    [InlineData(10, 0, 1.5, 0.4, "HighWatermark")]
    [InlineData(10, 0, 0.5, 0.5, "LowWatermark")]
    public void InvalidOptions_FailAtConstruction_NamingTheOption(int capacity, long maxBytes, double high, double low, string property)
    {
        var options = new BoundedMessageQueueOptions { Capacity = capacity, MaxBytes = maxBytes, HighWatermark = high, LowWatermark = low };

        var error = Assert.Throws<ArgumentException>(() => new BoundedMessageQueue<int>(options, _ => 1));

        Assert.Equal(property, error.ParamName);
        Assert.Contains(property, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AByteLimitWithoutASizeFunction_FailsAtConstruction()
    {
        var error = Assert.Throws<ArgumentException>(() => new BoundedMessageQueue<int>(new BoundedMessageQueueOptions { MaxBytes = 10 }));
        Assert.Equal("sizeOf", error.ParamName);
    }
}
