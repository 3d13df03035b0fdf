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

    /// <summary>Does the work on the calling thread, blocking it for the I/O wait.</summary>
    /// <returns>The buffer's checksum, so the CPU work cannot be optimised away.</returns>
    public long RunBlocking()
    {
        byte[] buffer = AllocateAndTouch();
        long checksum = BurnCpu(buffer);
#pragma warning disable RS0030 // The blocking endpoint exists to block a thread on its I/O wait.
        Thread.Sleep(_options.IoTime);
#pragma warning restore RS0030
        GC.KeepAlive(buffer);
        return checksum;
    }

    /// <summary>Does the work, awaiting the I/O wait. Cancelled when the caller goes away.</summary>
    /// <returns>The buffer's checksum.</returns>
    public async Task<long> RunAsync(CancellationToken cancellationToken)
    {
        byte[] buffer = AllocateAndTouch();
        long checksum = BurnCpu(buffer);
        await Task.Delay(_options.IoTime, timeProvider, cancellationToken).ConfigureAwait(false);
        GC.KeepAlive(buffer);
        return checksum;
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
