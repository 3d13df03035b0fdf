using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Backpressure.Server;

/// <summary>
/// The work every seed endpoint does: allocate a large buffer and touch every page of it (so the
/// memory is really committed), spend CPU time checksumming it, then wait on I/O while still
/// holding it — the memory is only released when the call ends.
/// </summary>
public sealed class SeedWork(IOptions<SeedWorkOptions> options, TimeProvider timeProvider)
{
    private const int PageSize = 4096;
    private readonly SeedWorkOptions _options = options.Value;
    private int _inFlight;
    private int _peakInFlight;
    private long _completed;
    private long _failed;

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
            await Task.Delay(_options.IoTime, timeProvider, cancellationToken).ConfigureAwait(false);
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

    private byte[] AllocateAndTouch()
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(_options.MemoryPerCallMegabytes * 1024 * 1024);
        for (int i = 0; i < buffer.Length; i += PageSize)
        {
            buffer[i] = (byte)i;
        }

        return buffer;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long BurnCpu(byte[] buffer)
    {
        long started = timeProvider.GetTimestamp();
        long checksum = 17;
        int position = 0;
        do
        {
            // Checksum in 64 KiB strides so the clock is read rarely compared with the work.
            int end = Math.Min(buffer.Length, position + 65536);
            for (int i = position; i < end; i += 64)
            {
                checksum = (checksum * 31) + buffer[i];
            }

            position = end >= buffer.Length ? 0 : end;
            if (buffer.Length == 0)
            {
                checksum = (checksum * 31) + 1;
            }
        }
        while (timeProvider.GetElapsedTime(started) < _options.CpuTime);

        return checksum;
    }
}
