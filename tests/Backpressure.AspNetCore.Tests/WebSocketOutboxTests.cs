using System.Net.WebSockets;
using Backpressure.AspNetCore.WebSockets;
using Backpressure.Queues;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.AspNetCore.Tests;

/// <summary>The slow-consumer rule of <see cref="WebSocketOutbox"/> under <see cref="OverflowPolicy.Block"/>.</summary>
public sealed class WebSocketOutboxTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);
    private static readonly ReadOnlyMemory<byte> Message = "{}"u8.ToArray();

    [Fact]
    public async Task Block_AProducerToldClosed_FindsTheClientDisconnectedAsSlow_EvenWhenTheGraceTimerFiresEarly()
    {
        // Real timers count in coarser units than the clock and can fire a little before the clock shows
        // the grace as over; this clock's timers fire 0.1 % early to reproduce that deterministically.
        // A producer told Closed stops, so a client left connected then would never be cut off.
        var time = new EarlyTimers(new FakeTimeProvider());
        using var socket = WebSocket.CreateFromStream(new MemoryStream(), new WebSocketCreationOptions { IsServer = true });
        using var outbox = new WebSocketOutbox(socket, Options(), time);
        Fill(outbox);

        Task<EnqueueOutcome> waiting = outbox.SendAsync(Message).AsTask();
        time.Fake.Advance(Grace * 0.999);
        EnqueueOutcome outcome = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(EnqueueOutcome.Closed, outcome);
        Assert.True(outbox.DisconnectedAsSlow);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, outbox.CloseStatus);
    }

    [Fact]
    public async Task Block_AQueueThatDrainsBeforeTheGraceIsOver_KeepsTheClient()
    {
        var time = new FakeTimeProvider();
        using var socket = WebSocket.CreateFromStream(new MemoryStream(), new WebSocketCreationOptions { IsServer = true });
        using var outbox = new WebSocketOutbox(socket, Options(), time);
        Fill(outbox);

        Task<EnqueueOutcome> waiting = outbox.SendAsync(Message).AsTask();
        time.Advance(Grace / 2);
        // The send loop drains the queue into the socket (a memory stream, which takes everything).
        using var stop = new CancellationTokenSource();
        Task sending = outbox.RunAsync(stop.Token);
        EnqueueOutcome outcome = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(Grace * 2);

        Assert.Equal(EnqueueOutcome.Enqueued, outcome);
        Assert.False(outbox.DisconnectedAsSlow);
        Assert.Null(outbox.CloseStatus);
        outbox.Close(WebSocketCloseStatus.NormalClosure, "done", drain: true);
        await sending.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static WebSocketOutboxOptions Options() => new()
    {
        Queue = new BoundedMessageQueueOptions { Capacity = 4, OverflowPolicy = OverflowPolicy.Block },
        SlowConsumerGracePeriod = Grace,
    };

    private static void Fill(WebSocketOutbox outbox)
    {
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(EnqueueOutcome.Enqueued, outbox.TrySend(Message));
        }

        Assert.Equal(EnqueueOutcome.Full, outbox.TrySend(Message));
    }

    /// <summary>A fake clock whose timers fire 0.1 % before they are due.</summary>
    private sealed class EarlyTimers(FakeTimeProvider fake) : TimeProvider
    {
        public FakeTimeProvider Fake { get; } = fake;

        public override long TimestampFrequency => Fake.TimestampFrequency;

        public override long GetTimestamp() => Fake.GetTimestamp();

        public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            Fake.CreateTimer(callback, state, dueTime == Timeout.InfiniteTimeSpan ? dueTime : dueTime * 0.999, period);
    }
}
