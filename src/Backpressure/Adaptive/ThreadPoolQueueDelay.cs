namespace Backpressure.Adaptive;

/// <summary>
/// How long work waits in the thread pool's global queue before a thread takes it, measured by a
/// probe queued every 50 ms while the signal is in use. When the CPU is saturated, a server's
/// requests wait here before they reach any limiter, so the latency of admitted work cannot show
/// that queue; this can. A resource signal for <see cref="QueueingDelayLimitOptions.ResourceUsage"/>,
/// as a share of a delay budget.
/// </summary>
/// <remarks>
/// <para>Probing starts at the first reading of <see cref="Current"/> and stops once it has not been
/// read for a second, so nothing runs in the background while no traffic needs a decision.</para>
/// <para>Unlike the CPU's utilisation, the delay stays low when the CPU is busy answering cheap
/// refusals: they leave the queue as fast as they enter it. Only work that holds threads (admitted
/// work) makes it grow, which is what a concurrency limit controls.</para>
/// </remarks>
public sealed class ThreadPoolQueueDelay : IDisposable
{
    private const int Window = 10;
    private static readonly TimeSpan s_probeInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan s_idleAfter = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _timeProvider;
    private readonly Action<Action> _dispatch;
    private readonly Action _completed;
    private readonly long[] _recent = new long[Window];
    private readonly Lock _sync = new();
    private ITimer? _timer;
    private int _next;
    private long _pendingSince;
    private long _lastRead;
    private bool _disposed;

    /// <summary>Creates the probe; the first reading starts probing.</summary>
    /// <param name="timeProvider">The clock and timer; <see cref="TimeProvider.System"/> when null.</param>
    public ThreadPoolQueueDelay(TimeProvider? timeProvider = null)
        : this(timeProvider, static probe => ThreadPool.UnsafeQueueUserWorkItem(static p => p(), probe, preferLocal: false))
    {
    }

    /// <param name="timeProvider">The clock and timer.</param>
    /// <param name="dispatch">Queues a probe where the delay is measured; tests pass their own.</param>
    internal ThreadPoolQueueDelay(TimeProvider? timeProvider, Action<Action> dispatch)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        _dispatch = dispatch;
        _completed = Completed;
    }

    /// <summary>
    /// The median wait of the last 10 probes (one stall, such as a GC pause, does not count as a
    /// queue; a queue that stands does), or how long the probe now queued has waited if that is
    /// longer (a stalled pool shows before the probe gets through). Zero until probes have run.
    /// </summary>
    public TimeSpan Current
    {
        get
        {
            lock (_sync)
            {
                long now = _timeProvider.GetTimestamp();
                _lastRead = now;
                if (_timer is null && !_disposed)
                {
                    _timer = _timeProvider.CreateTimer(static state => ((ThreadPoolQueueDelay)state!).Probe(), this, s_probeInterval, s_probeInterval);
                }

                Span<long> sorted = stackalloc long[Window];
                _recent.CopyTo(sorted);
                sorted.Sort();
                long delay = sorted[Window / 2];
                if (_pendingSince != 0)
                {
                    delay = Math.Max(delay, now - _pendingSince);
                }

                return _timeProvider.GetElapsedTime(0, delay);
            }
        }
    }

    /// <summary>Stops probing for good.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
        }
    }

    private void Probe()
    {
        lock (_sync)
        {
            long now = _timeProvider.GetTimestamp();
            if (_timeProvider.GetElapsedTime(_lastRead, now) > s_idleAfter)
            {
                // Nobody has asked for a second: stop until the next reading.
                _timer?.Dispose();
                _timer = null;
                return;
            }

            if (_pendingSince != 0)
            {
                return;
            }

            _pendingSince = now;
        }

        // The global queue (preferLocal: false), where the server's own work items wait.
        _dispatch(_completed);
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
