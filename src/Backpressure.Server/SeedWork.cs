using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Backpressure.Server;

/// <summary>
/// The work every seed endpoint does: allocate a large buffer and touch every page of it (so the
/// memory is really committed), checksum it for a fixed amount of CPU work, then wait on I/O while
/// still holding it — the memory is only released when the call ends.
/// </summary>
/// <remarks>
/// The CPU part is a fixed number of checksum strides, calibrated once at start-up to take
/// <see cref="SeedWorkOptions.CpuTime"/> on an idle core: a core therefore saturates at about
/// 1 / CpuTime calls a second, as a real service does. (Spinning until that much wall-clock time has
/// passed would let a busy core simply do less work per call, so the service would never run out of CPU.)
/// </remarks>
public sealed class SeedWork
{
    private const int PageSize = 4096;
    private const int StrideBytes = 65536;
    private readonly SeedWorkOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly long _strides;
    private int _inFlight;
    private int _peakInFlight;
    private long _completed;
    private long _failed;

    /// <summary>Prepares the work, calibrating its CPU part on this machine.</summary>
    public SeedWork(IOptions<SeedWorkOptions> options, TimeProvider timeProvider)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        // Calibrated on a buffer of the calls' size (at least a mebibyte), since a stride's cost depends on whether it fits in cache.
        _strides = _options.CpuTime > TimeSpan.Zero ? CalibrateStrides(_options.CpuTime, Touched(Math.Max(1, _options.MemoryPerCallMegabytes))) : 0;
    }

    /// <summary>A snapshot of the calls in flight now and at most so far, and how calls ended.</summary>
    public SeedWorkStatistics GetStatistics() => new(
        Volatile.Read(ref _inFlight),
        Volatile.Read(ref _peakInFlight),
        Interlocked.Read(ref _completed),
        Interlocked.Read(ref _failed),
        _options.MemoryPerCallMegabytes * 1024L * 1024L);

    /// <summary>Does the work on the calling thread, blocking it for the I/O wait.</summary>
    /// <returns>The buffer's checksum, so the CPU work cannot be optimised away.</returns>
    public long RunBlocking()
    {
        Enter();
        bool completed = false;
        try
        {
            byte[] buffer = AllocateAndTouch();
            long checksum = BurnCpu(buffer);
#pragma warning disable RS0030 // The blocking endpoint exists to block a thread on its I/O wait.
            Thread.Sleep(_options.IoTime);
#pragma warning restore RS0030
            GC.KeepAlive(buffer);
            completed = true;
            return checksum;
        }
        finally
        {
            Exit(completed);
        }
    }

    /// <summary>Does the work, awaiting the I/O wait. Cancelled when the caller goes away.</summary>
    /// <returns>The buffer's checksum.</returns>
    public async Task<long> RunAsync(CancellationToken cancellationToken)
    {
        Enter();
        bool completed = false;
        try
        {
            byte[] buffer = AllocateAndTouch();
            long checksum = BurnCpu(buffer);
            await Task.Delay(_options.IoTime, _timeProvider, cancellationToken).ConfigureAwait(false);
            GC.KeepAlive(buffer);
            completed = true;
            return checksum;
        }
        finally
        {
            Exit(completed);
        }
    }

    private void Enter()
    {
        int now = Interlocked.Increment(ref _inFlight);
        int peak;
        while (now > (peak = Volatile.Read(ref _peakInFlight))
            && Interlocked.CompareExchange(ref _peakInFlight, now, peak) != peak)
        {
        }
    }

    private void Exit(bool completed)
    {
        Interlocked.Decrement(ref _inFlight);
        Interlocked.Increment(ref completed ? ref _completed : ref _failed);
    }

    private byte[] AllocateAndTouch() => Touched(_options.MemoryPerCallMegabytes);

    // A buffer of that many mebibytes with every page written, so it is committed.
    private static byte[] Touched(int megabytes)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(megabytes * 1024 * 1024);
        for (int i = 0; i < buffer.Length; i += PageSize)
        {
            buffer[i] = (byte)i;
        }

        return buffer;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long BurnCpu(byte[] buffer) => Checksum(buffer, _strides);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Checksum(byte[] buffer, long strides)
    {
        long checksum = 17;
        int position = 0;
        for (long s = 0; s < strides; s++)
        {
            int end = Math.Min(buffer.Length, position + StrideBytes);
            for (int i = position; i < end; i += 64)
            {
                checksum = (checksum * 31) + buffer[i];
            }

            checksum = (checksum * 31) + 1;
            position = end >= buffer.Length ? 0 : end;
        }

        return checksum;
    }

    // Measures how many strides an idle core walks per second, as the best of several short rounds
    // (the fastest round had the core to itself). Real elapsed time on purpose: this measures the
    // machine, so an injected test clock would be wrong here.
    private static long CalibrateStrides(TimeSpan cpuTime, byte[] buffer)
    {
        const long StridesPerRound = 256;
        double best = double.MaxValue;
        long sink = 0;
        for (int round = 0; round < 12; round++)
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            sink += Checksum(buffer, StridesPerRound);
            best = Math.Min(best, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        GC.KeepAlive(sink);
        return Math.Max(1, (long)Math.Round(cpuTime.TotalSeconds / best * StridesPerRound));
    }
}
