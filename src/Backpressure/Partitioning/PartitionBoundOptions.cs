namespace Backpressure.Partitioning;

/// <summary>
/// How many partitions a <see cref="BoundedPartitionedRateLimiter{TResource}"/> keeps at most.
/// Validated once, when the limiter is constructed.
/// </summary>
public sealed class PartitionBoundOptions
{
    /// <summary>The option's default: 10,000 partitions.</summary>
    public const int DefaultMaxPartitions = 10_000;

    /// <summary>
    /// The most partitions (clients, users, keys) held at once: from 1 to 10,000,000. A new key beyond
    /// this many takes the place of an idle partition. Default: 10,000, which costs a few MiB whatever
    /// the clients send.
    /// </summary>
    public int MaxPartitions { get; set; } = DefaultMaxPartitions;

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (MaxPartitions is < 1 or > 10_000_000)
        {
            throw new ArgumentException(
                $"{nameof(MaxPartitions)} must be between 1 and 10000000 (was {MaxPartitions}).", nameof(MaxPartitions));
        }
    }
}
