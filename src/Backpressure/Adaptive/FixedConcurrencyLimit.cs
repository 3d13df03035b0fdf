namespace Backpressure.Adaptive;

/// <summary>
/// A limit that never moves: what a <see cref="PressureGauge"/> enforces, as an algorithm, so
/// static limits run behind the same enforcement as adaptive ones when they are compared.
/// </summary>
public sealed class FixedConcurrencyLimit : ConcurrencyLimitAlgorithm
{
    /// <summary>Creates a fixed limit.</summary>
    /// <param name="limit">The limit, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is below 1.</exception>
    public FixedConcurrencyLimit(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Limit = limit;
    }

    /// <inheritdoc />
    public override int Limit { get; }

    /// <inheritdoc />
    public override int MaxLimit => Limit;

    /// <inheritdoc />
    public override int Update(in ConcurrencySample sample) => Limit;
}
