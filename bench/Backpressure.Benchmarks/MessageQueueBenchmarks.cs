using System.Threading.Channels;
using Backpressure.Queues;
using BenchmarkDotNet.Attributes;

namespace Backpressure.Benchmarks;

/// <summary>
/// Messages through one <see cref="BoundedMessageQueue{T}"/> per overflow policy, against a bare
/// bounded <see cref="Channel{T}"/> of the same capacity: a producer task and a consumer task
/// moving 100,000 messages (the consumer slower to start, so the queue fills and the policy acts),
/// and one thread offering to a full queue (the cost of an overflow).
/// </summary>
[MemoryDiagnoser]
public class MessageQueueBenchmarks
{
    private const int Messages = 100_000;
    private const int Capacity = 256;
    private BoundedMessageQueue<int> _full = null!;

    [Params(OverflowPolicy.DropOldest, OverflowPolicy.DropNewest, OverflowPolicy.Block)]
    public OverflowPolicy Policy { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _full = new BoundedMessageQueue<int>(new BoundedMessageQueueOptions { Capacity = Capacity, OverflowPolicy = Policy });
        for (int i = 0; i < Capacity; i++)
        {
            _full.TryEnqueue(i);
        }
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<long> ProducerToConsumer()
    {
        var queue = new BoundedMessageQueue<int>(new BoundedMessageQueueOptions { Capacity = Capacity, OverflowPolicy = Policy });
        Task producer = Task.Run(async () =>
        {
            for (int i = 0; i < Messages; i++)
            {
                await queue.EnqueueAsync(i);
            }

            queue.Complete();
        });
        long sum = 0;
        await foreach (int item in queue.ReadAllAsync())
        {
            sum += item;
        }

        await producer;
        return sum;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public async Task<long> BareChannel()
    {
        var channel = Channel.CreateBounded<int>(new BoundedChannelOptions(Capacity)
        {
            FullMode = Policy switch
            {
                OverflowPolicy.DropOldest => BoundedChannelFullMode.DropOldest,
                OverflowPolicy.DropNewest => BoundedChannelFullMode.DropWrite,
                _ => BoundedChannelFullMode.Wait,
            },
        });
        Task producer = Task.Run(async () =>
        {
            for (int i = 0; i < Messages; i++)
            {
                await channel.Writer.WriteAsync(i);
            }

            channel.Writer.Complete();
        });
        long sum = 0;
        await foreach (int item in channel.Reader.ReadAllAsync())
        {
            sum += item;
        }

        await producer;
        return sum;
    }

    [Benchmark]
    public EnqueueOutcome OfferToAFullQueue() => _full.TryEnqueue(1);
}
