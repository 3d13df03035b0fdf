namespace Backpressure.Admission;

/// <summary>
/// Options of a <see cref="WaitingRoom{TResource}"/>. Validated once, when the waiting room is constructed.
/// </summary>
public sealed class WaitingRoomOptions
{
    /// <summary>The most requests waiting at once: from 0 (none wait: priorities only) to 1,000,000. Default 1000.</summary>
    /// <remarks>A memory bound only; time bounds the queue (<see cref="MaxWait"/>, <see cref="Target"/>).</remarks>
    public int QueueLimit { get; set; } = 1000;

    /// <summary>The longest a request waits for the limit, when no standing queue exists: more than 0, at most 10 minutes. Default 1 s.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// CoDel's target: the queueing delay a standing queue may keep. While the queue has not been empty for
    /// <see cref="Interval"/>, the newest waiter is served first and a waiter that has waited more than twice
    /// this is shed. Null (the default): ten times the limiter's mean service time (a burst that takes up to about
    /// ten service times to drain, some ten waiters per permit, is served rather than shed), at least 5 ms (Meta's
    /// target for services of about a millisecond) and at most half of <see cref="MaxWait"/>; otherwise more than 0
    /// and at most 10 minutes. Lower it where latency matters more than absorbing bursts: a waiter in a standing
    /// queue may wait up to twice the target.
    /// </summary>
    public TimeSpan? Target { get; set; }

    /// <summary>
    /// CoDel's interval: how long the queue must stay non-empty to count as standing, and how often the
    /// priority threshold moves (at least every 100 ms). Null (the default): twenty times <see cref="Target"/> (Meta's ratio), at least
    /// 100 ms and at most 1 s; otherwise at least 1 ms and at most 10 minutes.
    /// </summary>
    public TimeSpan? Interval { get; set; }

    /// <summary>Serve the newest waiter first while a standing queue exists (adaptive LIFO). Default true.</summary>
    public bool AdaptiveLifo { get; set; } = true;

    /// <summary>
    /// Move an admission threshold over priorities with the overload, refusing at once what ranks below it
    /// (the least critical level first, and within a level the same cohorts each time). Default true.
    /// </summary>
    public bool ShedByPriority { get; set; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (QueueLimit is < 0 or > 1_000_000)
        {
            throw new ArgumentException($"{nameof(QueueLimit)} must be between 0 and 1000000 (was {QueueLimit}).", nameof(QueueLimit));
        }

        CheckSpan(MaxWait, nameof(MaxWait), TimeSpan.FromTicks(1), "more than 0");
        if (Target is { } target)
        {
            CheckSpan(target, nameof(Target), TimeSpan.FromTicks(1), "more than 0");
        }

        if (Interval is { } interval)
        {
            CheckSpan(interval, nameof(Interval), TimeSpan.FromMilliseconds(1), "at least 1 ms");
        }
    }

    private static void CheckSpan(TimeSpan value, string name, TimeSpan least, string leastText)
    {
        if (value < least || value > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException($"{name} must be {leastText} and at most 10 minutes (was {value}).", name);
        }
    }
}
