namespace Backpressure.AspNetCore;

/// <summary>
/// What a rate-limit policy allows, as its <c>RateLimit-Policy</c> header says it (IETF httpapi
/// rate-limit headers draft): <paramref name="Permits"/> per <paramref name="Window"/>.
/// </summary>
/// <param name="Permits">Requests allowed per window.</param>
/// <param name="Window">The window; sent in whole seconds, rounded up.</param>
public sealed record RateLimitQuota(long Permits, TimeSpan Window)
{
    /// <summary>The window in whole seconds, rounded up, as the headers carry it.</summary>
    public long WindowSeconds => (long)Math.Ceiling(Window.TotalSeconds);
}
