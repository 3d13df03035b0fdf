namespace Backpressure;

/// <summary>
/// Options for <see cref="PressureGauge"/>. Validated once, when the gauge is constructed.
/// </summary>
public sealed class PressureGaugeOptions
{
    /// <summary>
    /// The most pieces of work (permits) in flight at once. Must be greater than zero.
    /// A caller that finds this many in flight is refused at once; nothing ever waits.
    /// </summary>
    public int PermitLimit { get; set; }

    /// <summary>
    /// The hold time assumed for a permit until the gauge has seen one returned, used only to
    /// estimate <c>RetryAfter</c> for refusals. Must be greater than zero. Default: 1 second.
    /// </summary>
    public TimeSpan InitialHoldTimeEstimate { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Every how many permits the gauge grants one is timed for the hold-time estimate behind
    /// <c>RetryAfter</c>: a power of two from 1 to 1024. Default: 8. Reading the clock costs more
    /// than acquiring and releasing a permit, so the default keeps it off most calls; use 1 when
    /// work is slow and long-held (seconds), where the cost is nothing and every sample counts.
    /// </summary>
    public int HoldTimeSampleInterval { get; set; } = 8;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first property that is out of range.
    /// </summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (PermitLimit <= 0)
        {
            throw new ArgumentException(
                $"{nameof(PermitLimit)} must be greater than zero (was {PermitLimit}).", nameof(PermitLimit));
        }

        if (InitialHoldTimeEstimate <= TimeSpan.Zero)
        {
            throw new ArgumentException(
                $"{nameof(InitialHoldTimeEstimate)} must be greater than zero (was {InitialHoldTimeEstimate}).",
                nameof(InitialHoldTimeEstimate));
        }

        if (HoldTimeSampleInterval is < 1 or > 1024 || (HoldTimeSampleInterval & (HoldTimeSampleInterval - 1)) != 0)
        {
            throw new ArgumentException(
                $"{nameof(HoldTimeSampleInterval)} must be a power of two from 1 to 1024 (was {HoldTimeSampleInterval}).",
                nameof(HoldTimeSampleInterval));
        }
    }
}
