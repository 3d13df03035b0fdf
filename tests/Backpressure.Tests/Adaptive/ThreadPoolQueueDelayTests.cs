using Backpressure.Adaptive;
using Microsoft.Extensions.Time.Testing;

namespace Backpressure.Tests.Adaptive;

public sealed class ThreadPoolQueueDelayTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly Queue<Action> _queued = new();

    private ThreadPoolQueueDelay NewProbe() => new(_time, _queued.Enqueue);

    [Fact]
    public void NothingIsProbed_UntilTheDelayIsFirstRead()
    {
        using var delay = NewProbe();
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(_queued);

        _ = delay.Current;
        _time.Advance(TimeSpan.FromMilliseconds(50));

        Assert.Single(_queued);
    }

    [Fact]
    public void AProbeStillQueued_ShowsHowLongItHasWaited_AndNoSecondOneIsQueuedMeanwhile()
    {
        using var delay = NewProbe();
        _ = delay.Current;
        _time.Advance(TimeSpan.FromMilliseconds(50));

        _time.Advance(TimeSpan.FromMilliseconds(130));

        Assert.Equal(TimeSpan.FromMilliseconds(130), delay.Current);
        Assert.Single(_queued);
    }

    [Fact]
    public void TheDelay_IsTheMedianOfTheLastTenProbes_SoOneStallDoesNotCount()
    {
        using var delay = NewProbe();
        _ = delay.Current;
        foreach (int wait in new[] { 40, 0, 0, 0, 0, 0, 0, 0, 0, 0 })
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            _time.Advance(TimeSpan.FromMilliseconds(wait));
            _queued.Dequeue()();
            _ = delay.Current;
        }

        Assert.Equal(TimeSpan.Zero, delay.Current);

        // Six of the last ten waited 30 ms: a standing queue.
        for (int i = 0; i < 6; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            _time.Advance(TimeSpan.FromMilliseconds(30));
            _queued.Dequeue()();
            _ = delay.Current;
        }

        Assert.Equal(TimeSpan.FromMilliseconds(30), delay.Current);
    }

    [Fact]
    public void ProbingStops_OnceTheDelayHasNotBeenReadForASecond()
    {
        using var delay = NewProbe();
        _ = delay.Current;
        for (int i = 0; i < 40; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            while (_queued.TryDequeue(out Action? probe))
            {
                probe();
            }
        }

        int queuedInTheLastSecond = 0;
        for (int i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            queuedInTheLastSecond += _queued.Count;
            _queued.Clear();
        }

        Assert.Equal(0, queuedInTheLastSecond);
    }

    [Fact]
    public async Task OnTheRealThreadPool_AnIdlePoolRunsProbesAtOnce()
    {
        using var delay = new ThreadPoolQueueDelay(TimeProvider.System);
        for (int i = 0; i < 15; i++)
        {
            _ = delay.Current;
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }

        Assert.InRange(delay.Current, TimeSpan.Zero, TimeSpan.FromMilliseconds(250));
    }
}
