namespace Backpressure.Adaptive;

/// <summary>
/// How long work waits in the thread pool's global queue before a thread takes it, measured by a
/// probe queued every <c>probeInterval</c>. When the CPU is saturated, a server's requests wait here
/// before they reach any limiter, so the latency of admitted work cannot show that queue; this can.
/// A resource signal for <see cref="QueueingDelayLimitOptions.ResourceUsage"/>, as a share of a delay budget.
/// </summary>
/// <remarks>
/// Unlike the CPU's utilisation, the delay stays low when the CPU is busy answering cheap
/// refusals: they leave the queue as fast as they enter it. Only work that holds threads (admitted
/// work) makes it grow, which is what a concurrency limit controls.
/// </remarks>
public sealed class ThreadPoolQueueDelay : IDisposable
{
    private const int Window = 10;

    private readonly TimeProvider _timeProvider;
    private readonly ITimer _timer;
    private readonly long[] _recent = new long[Window];
    private readonly Lock _sync = new();
    private int _next;
    private long _pendingSince;

    /// <summary>Starts probing.</summary>
    /// <param name="timeProvider">The clock and timer; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="probeInterval">How often a probe is queued; default 50 ms. The delay reported covers the last 10 probes.</param>
    public ThreadPoolQueueDelay(TimeProvider? timeProvider = null, TimeSpan? probeInterval = null)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        TimeSpan interval = probeInterval ?? TimeSpan.FromMilliseconds(50);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(probeInterval));
        _timer = _timeProvider.CreateTimer(static state => ((ThreadPoolQueueDelay)state!).Probe(), this, interval, interval);
    }

    /// <summary>
    /// The longest a probe waited among the last 10, or how long the probe now queued has waited if
    /// that is longer (a stalled pool shows before the probe gets through).
    /// </summary>
    public TimeSpan Current
    {
        get
        {
            lock (_sync)
            {
                long longest = 0;
                foreach (long delay in _recent)
                {
                    longest = Math.Max(longest, delay);
                }

                if (_pendingSince != 0)
                {
                    longest = Math.Max(longest, _timeProvider.GetTimestamp() - _pendingSince);
                }

                return _timeProvider.GetElapsedTime(0, longest);
            }
        }
    }

    /// <summary>Stops probing.</summary>
    public void Dispose() => _timer.Dispose();

    private void Probe()
    {
        long queuedAt = _timeProvider.GetTimestamp();
        lock (_sync)
        {
            if (_pendingSince != 0)
            {
                return;
            }

            _pendingSince = queuedAt;
        }

        // The global queue (preferLocal: false), where the server's own work items wait.
        ThreadPool.UnsafeQueueUserWorkItem(static self => self.Completed(), this, preferLocal: false);
    }

    private void Completed()
    {
        lock (_sync)
        {
            _recent[_next] = _timeProvider.GetTimestamp() - _pendingSince;
            _next = (_next + 1) % Window;
            _pendingSince = 0;
        }
    }
}
