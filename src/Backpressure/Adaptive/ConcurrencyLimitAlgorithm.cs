namespace Backpressure.Adaptive;

/// <summary>
/// A limit algorithm: it computes how many permits may be in flight from what completed permits
/// tell it, and knows nothing of how the limit is enforced (Netflix's <c>Limit</c>, apart from its
/// <c>Limiter</c>). <see cref="AdaptiveConcurrencyLimiter"/> enforces it without blocking.
/// </summary>
/// <remarks>
/// The limiter calls <see cref="Update"/> from one thread at a time, so an algorithm keeps plain
/// fields and needs no synchronisation of its own. An algorithm is a function of its samples and of
/// the time they carry: it reads no clock, so the same code runs in the server, in a benchmark and
/// in a simulation on a virtual clock.
/// </remarks>
public abstract class ConcurrencyLimitAlgorithm
{
    /// <summary>The current limit: the most permits allowed in flight, at least 1.</summary>
    public abstract int Limit { get; }

    /// <summary>
    /// The highest <see cref="Limit"/> the algorithm can ever reach. A limiter refuses to take a request for
    /// more permits than this (it could never be granted). Default: <see cref="int.MaxValue"/>, for an
    /// algorithm without a ceiling.
    /// </summary>
    public virtual int MaxLimit => int.MaxValue;

    /// <summary>Takes one sample into account and returns the limit that follows from it.</summary>
    /// <param name="sample">A completed permit.</param>
    /// <returns>The new limit, at least 1.</returns>
    public abstract int Update(in ConcurrencySample sample);
}
