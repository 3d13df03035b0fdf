namespace Backpressure.Simulation;

/// <summary>
/// Simulated time: a clock that stands still until the simulation moves it. Its timestamps are
/// <see cref="TimeSpan"/> ticks, so the limiter under test reads exactly the simulation's time.
/// No timers: nothing in the limiters under test schedules work.
/// </summary>
public sealed class VirtualClock : TimeProvider
{
    /// <summary>The current time, in ticks since the simulation began.</summary>
    public long Now { get; set; }

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override long GetTimestamp() => Now;
}
