namespace Backpressure.Client;

/// <summary>Options of a <see cref="RetryBudget"/>. Validated once, when the budget is constructed.</summary>
public sealed class RetryBudgetOptions
{
    /// <summary>Retries allowed as a share of the requests in the window: from 0 to 1; default 0.1 (10 %).</summary>
    public double RetryRatio { get; set; } = 0.1;

    /// <summary>Retries allowed in any window whatever the traffic, so a quiet client can still retry: from 0 to 1,000,000; default 10.</summary>
    public int MinRetriesPerWindow { get; set; } = 10;

    /// <summary>How far back requests and retries are counted: from 1 s to 1 hour; default 10 s (Finagle's retry budget TTL).</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (!(RetryRatio >= 0 && RetryRatio <= 1))
        {
            throw new ArgumentException($"{nameof(RetryRatio)} must be from 0 to 1 (was {RetryRatio}).", nameof(RetryRatio));
        }

        if (MinRetriesPerWindow is < 0 or > 1_000_000)
        {
            throw new ArgumentException($"{nameof(MinRetriesPerWindow)} must be from 0 to 1000000 (was {MinRetriesPerWindow}).", nameof(MinRetriesPerWindow));
        }

        if (Window < TimeSpan.FromSeconds(1) || Window > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"{nameof(Window)} must be from 1 second to 1 hour (was {Window}).", nameof(Window));
        }
    }
}
