using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Backpressure.AspNetCore.Shutdown;

/// <summary>
/// Stops a server admitting work before it stops listening, and lets the admitted work finish. When the host is
/// asked to stop, before Kestrel closes its listeners, the drain begins: <see cref="Draining"/> is cancelled (long-lived
/// sessions watch it and end themselves: a WebSocket with 1001, a gRPC stream with <c>UNAVAILABLE</c>), every new request
/// is answered 503 with <c>Retry-After</c> and <c>Connection: close</c> (a gRPC call with <c>UNAVAILABLE</c>), and the stop
/// waits until the requests in flight have finished or <see cref="ShutdownDrainOptions.DrainTimeout"/> has passed.
/// Kestrel alone would close its listeners first (a new client sees its connection refused, not a refusal it can act on)
/// and give in-flight work only the host's shutdown timeout, with no signal to long-lived sessions.
/// </summary>
public sealed partial class ShutdownDrain : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _draining = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ShutdownDrainOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ShutdownDrain> _logger;
    private long _inFlight;

    /// <summary>Creates the drain; registered by <c>DrainOnShutdown</c>.</summary>
    public ShutdownDrain(IOptions<ShutdownDrainOptions> options, TimeProvider timeProvider, ILogger<ShutdownDrain> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = timeProvider;
        _logger = logger;
    }

    /// <summary>Cancelled when the drain begins: long-lived work (WebSocket sessions, streaming calls) should end itself then.</summary>
    public CancellationToken Draining => _draining.Token;

    /// <summary>True once the server has begun to stop.</summary>
    public bool IsDraining => _draining.IsCancellationRequested;

    /// <summary>The requests admitted and not yet finished.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    /// <summary>The options in force.</summary>
    public ShutdownDrainOptions Options => _options;

    /// <summary>Counts a request in; false (and not counted) when the server is draining and the request must be refused.</summary>
    internal bool TryEnter()
    {
        Interlocked.Increment(ref _inFlight);
        if (!IsDraining)
        {
            return true;
        }

        Exit();
        return false;
    }

    /// <summary>Counts an admitted request out.</summary>
    internal void Exit()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && IsDraining)
        {
            _idle.TrySetResult();
        }
    }

    /// <inheritdoc />
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        long atStart = InFlight;
        LogDrainStarted(_logger, atStart, _options.DrainTimeout.TotalSeconds);
        await _draining.CancelAsync();
        if (InFlight == 0)
        {
            _idle.TrySetResult();
        }

        try
        {
            await _idle.Task.WaitAsync(_options.DrainTimeout, _time, cancellationToken);
            LogDrained(_logger, atStart);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            LogDrainTimedOut(_logger, InFlight, _options.DrainTimeout.TotalSeconds);
        }
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public void Dispose() => _draining.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: refusing new work, draining {InFlight} requests in flight (at most {DrainSeconds} s)")]
    private static partial void LogDrainStarted(ILogger logger, long inFlight, double drainSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drained: the {InFlight} requests in flight at the stop have finished")]
    private static partial void LogDrained(ILogger logger, long inFlight);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain time over: {InFlight} requests still in flight after {DrainSeconds} s are left to the host's shutdown")]
    private static partial void LogDrainTimedOut(ILogger logger, long inFlight, double drainSeconds);
}
