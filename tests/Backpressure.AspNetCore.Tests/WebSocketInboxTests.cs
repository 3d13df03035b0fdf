using System.Net.WebSockets;
using Backpressure.AspNetCore.WebSockets;
using Backpressure.Queues;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.AspNetCore.Tests;

/// <summary><see cref="WebSocketInbox{T}"/>: flow signals at the watermarks, and the rule for a client that sends on while paused.</summary>
public sealed class WebSocketInboxTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);
    private readonly FakeTimeProvider _time = new();

    private static WebSocket NewSocket() => WebSocket.CreateFromStream(new MemoryStream(), new WebSocketCreationOptions { IsServer = true });

    private static WebSocketOutbox NewControl(WebSocket socket) => new(socket, new WebSocketOutboxOptions
    {
        Queue = new BoundedMessageQueueOptions { Capacity = 16, OverflowPolicy = OverflowPolicy.DropNewest },
    });

    private WebSocketInbox<int> NewInbox(WebSocketOutbox control, OverflowPolicy policy) => new(
        control,
        new WebSocketInboxOptions
        {
            Queue = new BoundedMessageQueueOptions { Capacity = 4, OverflowPolicy = policy, HighWatermark = 1.0, LowWatermark = 0.5 },
            SlowProducerGracePeriod = Grace,
        },
        _ => 1,
        _time);

    /// <summary>An inbox holding messages 0 to 3: full, and the client told to pause.</summary>
    private async Task<WebSocketInbox<int>> NewFullInboxAsync(WebSocketOutbox control, OverflowPolicy policy)
    {
        WebSocketInbox<int> inbox = NewInbox(control, policy);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(EnqueueOutcome.Enqueued, await inbox.AcceptAsync(i));
        }

        return inbox;
    }

    [Fact]
    public async Task CrossingTheHighWatermark_TellsTheClientToPause_AndDrainingToTheLowOne_ToResume()
    {
        using WebSocket socket = NewSocket();
        using WebSocketOutbox control = NewControl(socket);
        WebSocketInbox<int> inbox = await NewFullInboxAsync(control, OverflowPolicy.Block);

        Assert.Equal(1, inbox.GetStatistics().Pauses);
        Assert.Equal(1, control.GetStatistics().Enqueued);

        inbox.Complete();
        var read = new List<int>();
        await foreach (int message in inbox.ReadAllAsync())
        {
            read.Add(message);
        }

        Assert.Equal([0, 1, 2, 3], read);
        Assert.Equal(1, inbox.GetStatistics().Resumes);
        Assert.Equal(2, control.GetStatistics().Enqueued);
    }

    [Fact]
    public async Task Block_AFullInboxThatDrainsWithinTheGrace_TakesTheMessage_AndKeepsTheClient()
    {
        using WebSocket socket = NewSocket();
        using WebSocketOutbox control = NewControl(socket);
        WebSocketInbox<int> inbox = await NewFullInboxAsync(control, OverflowPolicy.Block);

        Task<EnqueueOutcome> waiting = inbox.AcceptAsync(4).AsTask();
        _time.Advance(Grace / 2);
        await using IAsyncEnumerator<int> reader = inbox.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());
        EnqueueOutcome outcome = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(EnqueueOutcome.Enqueued, outcome);
        Assert.False(inbox.DisconnectedAsSlow);
        Assert.Null(control.CloseStatus);
    }

    [Fact]
    public async Task Block_AFullInboxForTheWholeGrace_DisconnectsTheClientWith1008()
    {
        using WebSocket socket = NewSocket();
        using WebSocketOutbox control = NewControl(socket);
        WebSocketInbox<int> inbox = await NewFullInboxAsync(control, OverflowPolicy.Block);

        Task<EnqueueOutcome> waiting = inbox.AcceptAsync(4).AsTask();
        _time.Advance(Grace);
        EnqueueOutcome outcome = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(EnqueueOutcome.Closed, outcome);
        Assert.True(inbox.DisconnectedAsSlow);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, control.CloseStatus);
        Assert.Equal(EnqueueOutcome.Closed, await inbox.AcceptAsync(5));
    }

    [Fact]
    public async Task DropNewest_AClientThatSendsOnWhilePausedPastTheGrace_IsDisconnected_AndBeforeThatItsExtraMessagesAreDropped()
    {
        using WebSocket socket = NewSocket();
        using WebSocketOutbox control = NewControl(socket);
        WebSocketInbox<int> inbox = await NewFullInboxAsync(control, OverflowPolicy.DropNewest);

        Assert.Equal(EnqueueOutcome.Dropped, await inbox.AcceptAsync(4));
        _time.Advance(Grace);

        Assert.Equal(EnqueueOutcome.Closed, await inbox.AcceptAsync(5));
        Assert.True(inbox.DisconnectedAsSlow);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, control.CloseStatus);
    }

    [Fact]
    public void Options_OutOfRange_AreRejectedNamingTheOption()
    {
        using WebSocket socket = NewSocket();
        using WebSocketOutbox control = NewControl(socket);

        var grace = Assert.Throws<ArgumentException>(() => new WebSocketInbox<int>(control, new WebSocketInboxOptions { SlowProducerGracePeriod = TimeSpan.Zero }, _ => 1));
        var pause = Assert.Throws<ArgumentException>(() => new WebSocketInbox<int>(control, new WebSocketInboxOptions { PauseMessage = ReadOnlyMemory<byte>.Empty }, _ => 1));

        Assert.Equal(nameof(WebSocketInboxOptions.SlowProducerGracePeriod), grace.ParamName);
        Assert.Equal(nameof(WebSocketInboxOptions.PauseMessage), pause.ParamName);
    }
}
