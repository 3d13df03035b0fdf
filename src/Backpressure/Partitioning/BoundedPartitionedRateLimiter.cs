using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Backpressure.Partitioning;

/// <summary>
/// One <see cref="RateLimiter"/> per partition key (a client, a user, an API key), holding at most
/// <see cref="PartitionBoundOptions.MaxPartitions"/> of them: a new key beyond the bound takes the
/// place of an idle partition, so no stream of new keys can grow memory without bound.
/// </summary>
/// <remarks>
/// <para>
/// Written because the base library's <see cref="PartitionedRateLimiter.Create{TResource, TPartitionKey}"/>
/// falls short on both counts for keys a client chooses: it keeps every partition until it has been idle
/// for ten seconds (one client sending 937,000 distinct ids in 20 s took a server from 80 to 489 MiB), and a
/// timer visits every partition ten times a second (262,000 live partitions kept an idle server at 56 % of
/// a core). Here nothing runs between requests: our limiters replenish from the clock when asked.
/// </para>
/// <para>
/// <b>Eviction</b> is approximate least-recently-used, in the manner of the CLOCK page-replacement
/// algorithm and of Redis's sampled eviction (<c>evict.c</c>): a hand moves over the partitions, and of the
/// next 32 from it the one idle longest (<see cref="RateLimiter.IdleDuration"/>) gives up its place. That
/// costs the same at any bound, where an exact order would cost a lock on every request. A partition that is
/// not idle (permits in flight, callers queued, or a bucket or window not yet back to full, whose eviction
/// would hand its client a fresh allowance) is never evicted; when none of the 32 is idle, the new key is
/// refused rather than growing past the bound: its lease says one second in <see cref="MetadataName.RetryAfter"/>
/// and carries <see cref="LimiterMetadata.Unavailable"/> (the server is full, the client did nothing wrong). An evicted
/// partition loses its counts, so a client returning after eviction starts afresh: with the bound above the
/// number of clients active at once, only clients idle longer than the others lose anything.
/// </para>
/// <para>
/// A lookup of a known key is one dictionary read with no lock; creating and evicting partitions takes a
/// lock. An evicted limiter is disposed; a caller that fetched it just before (and so is told it is disposed)
/// is retried on the key's new partition.
/// </para>
/// </remarks>
/// <typeparam name="TResource">What a permit is asked for (an HTTP request, a method name).</typeparam>
public sealed class BoundedPartitionedRateLimiter<TResource> : PartitionedRateLimiter<TResource>
{
    private const int EvictionCandidates = 32;

    // Each retry follows an eviction that raced this caller (its partition was evicted between lookup and acquire,
    // which a thread pre-empted at that point while others flood new keys can see again and again). After this many
    // the caller is refused as at the bound, never handed the evicted limiter's ObjectDisposedException.
    private const int MaxAttempts = 3;

    private readonly Func<TResource, string> _partitionKey;
    private readonly Func<string, RateLimiter> _createLimiter;
    private readonly ConcurrentDictionary<string, Partition> _partitions = new(StringComparer.Ordinal);
    private readonly Partition?[] _slots;
    private readonly Lock _gate = new();
    private readonly BoundReachedLease _boundReached;
    private int _count;
    private int _hand;
    private long _evicted;
    private long _refusedAtBound;
    private int _disposed;

    /// <summary>Creates the limiter.</summary>
    /// <param name="partitionKey">The partition a resource counts against. Keep keys short: they are held as long as their partition.</param>
    /// <param name="createLimiter">Creates the limiter of a new partition from its key.</param>
    /// <param name="options">The bound; validated here.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public BoundedPartitionedRateLimiter(
        Func<TResource, string> partitionKey, Func<string, RateLimiter> createLimiter, PartitionBoundOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(partitionKey);
        ArgumentNullException.ThrowIfNull(createLimiter);
        options ??= new PartitionBoundOptions();
        options.Validate();
        _partitionKey = partitionKey;
        _createLimiter = createLimiter;
        _slots = new Partition?[options.MaxPartitions];
        _boundReached = new BoundReachedLease(options.MaxPartitions);
    }

    /// <summary>The configured most partitions held at once.</summary>
    public int MaxPartitions => _slots.Length;

    /// <summary>Partitions held now.</summary>
    public int PartitionCount => Volatile.Read(ref _count);

    /// <summary>Partitions that gave up their place to a new key since the limiter was created.</summary>
    public long EvictedPartitions => Interlocked.Read(ref _evicted);

    /// <summary>
    /// Requests refused because the bound was reached and every partition drawn for eviction was busy, or because
    /// new keys evicted the caller's partition between its lookup and its acquire on every attempt.
    /// </summary>
    public long RefusedAtBound => Interlocked.Read(ref _refusedAtBound);

    /// <summary>The statistics of the resource's partition, or null when it has none (nothing is created to answer).</summary>
    public override RateLimiterStatistics? GetStatistics(TResource resource) => GetPartitionStatistics(_partitionKey(resource));

    /// <summary>
    /// The statistics of the partition <paramref name="partitionKey"/>, or null when it has none: for a caller that
    /// already has the key (from acquiring with <see cref="AcquirePartitionAsync"/>), so it is not computed again.
    /// </summary>
    public RateLimiterStatistics? GetPartitionStatistics(string partitionKey)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _partitions.TryGetValue(partitionKey, out Partition? partition) ? partition.Limiter.GetStatistics() : null;
    }

    /// <summary>
    /// Acquires from the partition <paramref name="partitionKey"/>, as <see cref="PartitionedRateLimiter{TResource}.AcquireAsync"/>
    /// does from a resource's: for a caller that computed the key itself, to use it twice.
    /// </summary>
    public ValueTask<RateLimitLease> AcquirePartitionAsync(string partitionKey, int permitCount = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partitionKey);
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        return AcquireAsync(partitionKey, permitCount, cancellationToken);
    }

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(TResource resource, int permitCount)
    {
        string key = _partitionKey(resource);
        for (int attempt = 0; ; attempt++)
        {
            Partition? partition = Find(key);
            if (partition is null)
            {
                return RefuseAtBound();
            }

            try
            {
                return partition.Limiter.AttemptAcquire(permitCount);
            }
            catch (ObjectDisposedException) when (partition.Evicted)
            {
                if (attempt == MaxAttempts)
                {
                    return RefuseAtBound();
                }
            }
        }
    }

    /// <inheritdoc />
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(TResource resource, int permitCount, CancellationToken cancellationToken) =>
        AcquireAsync(_partitionKey(resource), permitCount, cancellationToken);

    private async ValueTask<RateLimitLease> AcquireAsync(string key, int permitCount, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            Partition? partition = Find(key);
            if (partition is null)
            {
                return RefuseAtBound();
            }

            try
            {
                return await partition.Limiter.AcquireAsync(permitCount, cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (partition.Evicted)
            {
                if (attempt == MaxAttempts)
                {
                    return RefuseAtBound();
                }
            }
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (Partition partition in TakeAll())
            {
                partition.Limiter.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        foreach (Partition partition in TakeAll())
        {
            await partition.Limiter.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    /// <summary>Marks the limiter disposed and empties it, once; the partitions it held are the caller's to dispose.</summary>
    private Partition[] TakeAll()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return [];
        }

        lock (_gate)
        {
            Partition[] held = [.. _partitions.Values];
            _partitions.Clear();
            Array.Clear(_slots);
            _count = 0;
            return held;
        }
    }

    /// <summary>The key's partition, created when new (in place of an idle one at the bound); null when the bound is reached and none is idle.</summary>
    private Partition? Find(string key)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_partitions.TryGetValue(key, out Partition? known))
        {
            return known;
        }

        Partition? evicted = null;
        Partition created;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (_partitions.TryGetValue(key, out known))
            {
                return known;
            }

            int slot;
            if (_count < _slots.Length)
            {
                slot = _count;
                Volatile.Write(ref _count, _count + 1);
            }
            else
            {
                slot = IdlestCandidateSlot();
                if (slot < 0)
                {
                    return null;
                }

                evicted = _slots[slot]!;
                evicted.Evicted = true;
                _partitions.TryRemove(evicted.Key, out _);
                Interlocked.Increment(ref _evicted);
            }

            created = new Partition(key, _createLimiter(key));
            _slots[slot] = created;
            _partitions[key] = created;
        }

        evicted?.Limiter.Dispose();
        return created;
    }

    private BoundReachedLease RefuseAtBound()
    {
        Interlocked.Increment(ref _refusedAtBound);
        return _boundReached;
    }

    /// <summary>
    /// The slot, among the next few from the clock hand, whose partition has been idle longest; -1 when all of
    /// them are busy. The hand stops just past the slot chosen (so idle slots it looked at and passed over are
    /// looked at again next time), or past all of them when none was idle: successive evictions visit every slot.
    /// </summary>
    private int IdlestCandidateSlot()
    {
        int best = -1;
        TimeSpan longest = TimeSpan.MinValue;
        int candidates = Math.Min(EvictionCandidates, _slots.Length);
        int slot = _hand;
        for (int i = 0; i < candidates; i++)
        {
            if (_slots[slot]!.Limiter.IdleDuration is { } idle && idle > longest)
            {
                longest = idle;
                best = slot;
            }

            slot = slot + 1 == _slots.Length ? 0 : slot + 1;
        }

        _hand = best < 0 ? slot : (best + 1 == _slots.Length ? 0 : best + 1);
        return best;
    }

    private sealed class Partition(string key, RateLimiter limiter)
    {
        private volatile bool _evicted;

        public string Key { get; } = key;

        public RateLimiter Limiter { get; } = limiter;

        public bool Evicted
        {
            get => _evicted;
            set => _evicted = value;
        }
    }
}
