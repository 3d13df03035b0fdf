using Backpressure.Partitioning;

namespace Backpressure.AspNetCore;

/// <summary>How a per-client policy splits requests into partitions, and how many it holds. Validated at start-up.</summary>
public sealed class PartitionedPolicyOptions
{
    /// <summary>Who a request counts against. Default: <see cref="RequestPartitioner.RemoteAddress"/>.</summary>
    public RequestPartitioner PartitionBy { get; set; } = RequestPartitioner.RemoteAddress;

    /// <summary>
    /// The most partitions held at once (from 1 to 10,000,000); a new one beyond takes the place of the
    /// idlest (see <see cref="BoundedPartitionedRateLimiter{TResource}"/>). Default: 10,000.
    /// </summary>
    public int MaxPartitions { get; set; } = PartitionBoundOptions.DefaultMaxPartitions;

    /// <summary>How refusals are answered. Default: <see cref="RefusalAnswer.ProblemDetails"/>.</summary>
    public RefusalAnswer Answer { get; set; } = RefusalAnswer.ProblemDetails;

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (PartitionBy is null)
        {
            throw new ArgumentException($"{nameof(PartitionBy)} is required.", nameof(PartitionBy));
        }

        new PartitionBoundOptions { MaxPartitions = MaxPartitions }.Validate();
        if (!Enum.IsDefined(Answer))
        {
            throw new ArgumentException($"{nameof(Answer)} must be {nameof(RefusalAnswer.PlainText)} or {nameof(RefusalAnswer.ProblemDetails)} (was {Answer}).", nameof(Answer));
        }
    }
}
