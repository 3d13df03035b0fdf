namespace Backpressure.Client;

/// <summary>
/// What every client adapter of ours (HTTP, gRPC) does to keep a client from adding to a server's overload: throttle
/// locally while the server keeps refusing, and retry only a few times, within a budget. Validated once, when the
/// adapter is created; each adapter's options add what is its own.
/// </summary>
public class ClientBackpressureOptions
{
    /// <summary>Refuse calls locally, with the SRE book's adaptive throttling, while the destination keeps refusing them. Default true.</summary>
    public bool Throttle { get; set; } = true;

    /// <summary>The throttle's K, window and minimum of requests (the book's 2 and 2 minutes, and 10, by default).</summary>
    public AdaptiveThrottleOptions Throttling { get; set; } = new();

    /// <summary>How many times a call the destination refused for overload is retried, within the <see cref="RetryBudget"/>: from 0 to 10; default 2.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>The retry budget per destination (10 % of requests, at least 10 per 10 s, by default).</summary>
    public RetryBudgetOptions RetryBudget { get; set; } = new();

    /// <summary>The pause before a retry the destination gave no wait for, doubled for each further retry, with jitter. From 1 ms to 1 minute; default 100 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The pause before retrying after attempt <paramref name="attempt"/> (0 for the first) when the destination gave no
    /// wait: <see cref="RetryDelay"/> doubled per attempt, and from half of that to all of it by <paramref name="draw"/>
    /// (the "equal jitter" of AWS's "Exponential Backoff And Jitter"), so that clients refused together do not retry
    /// together. Every client adapter waits this long.
    /// </summary>
    /// <param name="attempt">The attempt just refused, from 0.</param>
    /// <param name="draw">A draw from [0, 1).</param>
    public TimeSpan RetryBackoff(int attempt, double draw) =>
        TimeSpan.FromMilliseconds(RetryDelay.TotalMilliseconds * Math.Pow(2, attempt) * (0.5 + (draw / 2)));

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range (a nested one as <c>Throttling.K</c>).</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public virtual void Validate()
    {
        Nested(Throttling, nameof(Throttling), static o => o.Validate());
        Nested(RetryBudget, nameof(RetryBudget), static o => o.Validate());
        if (MaxRetries is < 0 or > 10)
        {
            throw new ArgumentException($"{nameof(MaxRetries)} must be from 0 to 10 (was {MaxRetries}).", nameof(MaxRetries));
        }

        if (RetryDelay < TimeSpan.FromMilliseconds(1) || RetryDelay > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException($"{nameof(RetryDelay)} must be from 1 ms to 1 minute (was {RetryDelay}).", nameof(RetryDelay));
        }
    }

    private static void Nested<T>(T? options, string name, Action<T> validate)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(options, name);
        try
        {
            validate(options);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{name}.{e.Message}", $"{name}.{e.ParamName}", e);
        }
    }
}
