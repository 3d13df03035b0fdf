namespace Backpressure.Client;

/// <summary>Options of an <see cref="AdaptiveThrottle"/>. Validated once, when the throttle is constructed.</summary>
public sealed class AdaptiveThrottleOptions
{
    /// <summary>
    /// The SRE book's K: how many requests the client sends for each one the server accepts before it starts refusing
    /// locally. From 1 (refuse as soon as anything is refused: aggressive) to 100; default 2, the book's.
    /// </summary>
    public double K { get; set; } = 2;

    /// <summary>How far back requests and accepts are counted: from 1 s to 1 hour; default 2 minutes, the book's.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Requests in the window below which nothing is refused, so that a client's first few failures do not already
    /// refuse half its calls (the formula gives 50 % after one refused request): from 0 to 1,000,000; default 10. Ours,
    /// like the request-rate threshold of Envoy's admission control.
    /// </summary>
    public int MinRequests { get; set; } = 10;

    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (!(K >= 1 && K <= 100))
        {
            throw new ArgumentException($"{nameof(K)} must be from 1 to 100 (was {K}).", nameof(K));
        }

        if (MinRequests is < 0 or > 1_000_000)
        {
            throw new ArgumentException($"{nameof(MinRequests)} must be from 0 to 1000000 (was {MinRequests}).", nameof(MinRequests));
        }

        if (Window < TimeSpan.FromSeconds(1) || Window > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"{nameof(Window)} must be from 1 second to 1 hour (was {Window}).", nameof(Window));
        }
    }
}
