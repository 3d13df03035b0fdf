namespace Backpressure.AspNetCore.Shutdown;

/// <summary>How a server drains when asked to stop (SIGTERM, Ctrl+C, <c>StopApplication</c>); see <see cref="ShutdownDrain"/>.</summary>
public sealed class ShutdownDrainOptions
{
    /// <summary>
    /// How long admitted work may take to finish once the server is stopping: 10 s by default, as a Kubernetes pod's
    /// default 30 s grace leaves room for it and for the host's own stop. Work still running after it is cut off by the host.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The <c>Retry-After</c> told to requests that arrive while draining: 1 s by default, time for a load balancer to send the retry elsewhere.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property out of range.</summary>
    public void Validate()
    {
        if (DrainTimeout < TimeSpan.Zero || DrainTimeout > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"{nameof(DrainTimeout)} must be between 00:00:00 and 01:00:00 (was {DrainTimeout}).", nameof(DrainTimeout));
        }

        if (RetryAfter < TimeSpan.FromSeconds(1) || RetryAfter > TimeSpan.FromHours(1))
        {
            throw new ArgumentException(
                $"{nameof(RetryAfter)} must be between 00:00:01 and 01:00:00, as Retry-After counts whole seconds (was {RetryAfter}).", nameof(RetryAfter));
        }
    }
}
