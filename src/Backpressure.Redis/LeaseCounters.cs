using System.Threading.RateLimiting;

namespace Backpressure.Redis;

/// <summary>What a Redis limiter has decided on this instance, for <see cref="RateLimiter.GetStatistics"/>: counts, and the permits Redis said were left at the last check.</summary>
internal sealed class LeaseCounters(long available)
{
    private long _available = available;
    private long _admitted;
    private long _refused;

    public void Available(long permits) => Volatile.Write(ref _available, permits);

    /// <summary>Counts <paramref name="lease"/> as admitted or refused and hands it back.</summary>
    public RateLimitLease Count(RateLimitLease lease)
    {
        Interlocked.Increment(ref lease.IsAcquired ? ref _admitted : ref _refused);
        return lease;
    }

    public RateLimiterStatistics Statistics() => new()
    {
        CurrentAvailablePermits = Math.Max(0, Volatile.Read(ref _available)),
        CurrentQueuedCount = 0,
        TotalSuccessfulLeases = Volatile.Read(ref _admitted),
        TotalFailedLeases = Volatile.Read(ref _refused),
    };
}
