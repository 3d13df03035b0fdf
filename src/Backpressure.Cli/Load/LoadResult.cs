namespace Backpressure.Cli.Load;

/// <summary>
/// What a load run saw. Every request ends in exactly one of: a response (counted by status code),
/// an error (counted by kind) or a timeout, so <see cref="Requests"/> is their sum. With retries a
/// request counts once, by its last attempt, and its latency runs from its first send to its last
/// response, waits included.
/// </summary>
internal sealed class LoadResult
{
    /// <summary>From the first send to the last response, warm-up included (hey's Total).</summary>
    public TimeSpan Total { get; set; }

    /// <summary>
    /// The time the counted requests were sent over, which the rates divide by: the schedule's
    /// length in open-loop mode (so the wait for the last responses does not dilute them), else
    /// <see cref="Total"/> less the warm-up.
    /// </summary>
    public TimeSpan Window { get; set; }

    public Dictionary<int, long> StatusCodes { get; } = [];

    public Dictionary<string, long> Errors { get; } = [];

    public long Timeouts { get; set; }

    /// <summary>With the client throttle: calls answered 429 by the client itself, which never reached the server (also counted under 429).</summary>
    public long LocallyRefused { get; set; }

    /// <summary>With the client handler: requests that went out to the server, retries included (what the server had to answer).</summary>
    public long Sent { get; set; }

    public long Retries { get; set; }

    public TimeSpan RetryWait { get; set; }

    public long TotalBytes { get; set; }

    /// <summary>Every request that got a response, whatever its status.</summary>
    public LatencyRecorder Responses { get; } = new();

    /// <summary>Requests answered 2xx.</summary>
    public LatencyRecorder Successes { get; } = new();

    /// <summary>Requests answered 429.</summary>
    public LatencyRecorder Refusals { get; } = new();

    /// <summary>
    /// Open loop only: how late each request left against its due time. This delay is the load
    /// generator's own and is part of every latency above, so it bounds what they can show.
    /// </summary>
    public LatencyRecorder SendLag { get; } = new();

    /// <summary>With a priority mix: the same figures for the requests of each priority.</summary>
    public SortedDictionary<string, LoadResult> ByPriority { get; } = new(StringComparer.Ordinal);

    public long Succeeded => StatusCodes.Where(s => s.Key is >= 200 and < 300).Sum(s => s.Value);

    public long Refused => StatusCodes.GetValueOrDefault(429);

    public long ErrorCount => Errors.Values.Sum() + StatusCodes.Where(s => s.Key is < 200 or >= 300 and not 429).Sum(s => s.Value);

    public long Requests => Responses.Count + Errors.Values.Sum() + Timeouts;

    public double RequestsPerSecond => Window > TimeSpan.Zero ? Requests / Window.TotalSeconds : 0;

    public double Goodput => Window > TimeSpan.Zero ? Succeeded / Window.TotalSeconds : 0;

    public void Add(LoadResult other)
    {
        foreach (var (status, count) in other.StatusCodes)
        {
            StatusCodes[status] = StatusCodes.GetValueOrDefault(status) + count;
        }

        foreach (var (kind, count) in other.Errors)
        {
            Errors[kind] = Errors.GetValueOrDefault(kind) + count;
        }

        Timeouts += other.Timeouts;
        LocallyRefused += other.LocallyRefused;
        Sent += other.Sent;
        Retries += other.Retries;
        RetryWait += other.RetryWait;
        TotalBytes += other.TotalBytes;
        Responses.Add(other.Responses);
        Successes.Add(other.Successes);
        Refusals.Add(other.Refusals);
        SendLag.Add(other.SendLag);
        foreach (var (priority, tally) in other.ByPriority)
        {
            PriorityTally(priority).Add(tally);
        }
    }

    /// <summary>The tally of one priority, created when first seen.</summary>
    public LoadResult PriorityTally(string priority)
    {
        if (!ByPriority.TryGetValue(priority, out LoadResult? tally))
        {
            tally = new LoadResult();
            ByPriority[priority] = tally;
        }

        return tally;
    }

    /// <summary>Gives every priority's tally the run's times, once the run is over.</summary>
    public void SpreadTimes()
    {
        foreach (LoadResult tally in ByPriority.Values)
        {
            tally.Total = Total;
            tally.Window = Window;
        }
    }
}
