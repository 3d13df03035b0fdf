using System.Globalization;

namespace Backpressure.Http;

/// <summary>
/// How long a server asked its client to wait before calling again, read from a refusal: <c>Retry-After-Ms</c>
/// first (whole milliseconds, which our servers send beside <c>Retry-After</c> because a concurrency limit's next permit
/// is often milliseconds away), then <c>Retry-After</c> (seconds or a date), then <c>RateLimit</c>'s <c>t</c> when it
/// says <c>r=0</c>. <see cref="ClientBackpressureHandler"/> honours it; a Polly retry strategy can use it as its
/// <c>DelayGenerator</c>, where Polly's own <c>ShouldRetryAfterHeader</c> reads whole seconds only.
/// </summary>
public static class ServerRetryAfter
{
    /// <summary>The header with the wait in whole milliseconds.</summary>
    public const string MillisecondsHeader = RetryAfterMilliseconds.Header;

    /// <summary>The wait <paramref name="response"/> asks for, or null when it names none.</summary>
    /// <param name="response">A response, usually a 429 or 503.</param>
    /// <param name="timeProvider">The clock a <c>Retry-After</c> date is measured against; null for the system clock.</param>
    public static TimeSpan? Read(HttpResponseMessage response, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Headers.TryGetValues(RetryAfterMilliseconds.Header, out IEnumerable<string>? milliseconds)
            && RetryAfterMilliseconds.TryParse(milliseconds.FirstOrDefault(), out TimeSpan exact))
        {
            return exact;
        }

        if (response.Headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
            {
                return delta;
            }

            if (retryAfter.Date is { } date)
            {
                return date - (timeProvider ?? TimeProvider.System).GetUtcNow() is { Ticks: > 0 } left ? left : TimeSpan.Zero;
            }
        }

        if (response.Headers.TryGetValues("RateLimit", out IEnumerable<string>? values))
        {
            foreach (string value in values)
            {
                if (value.Contains(";r=0", StringComparison.Ordinal) && value.IndexOf(";t=", StringComparison.Ordinal) is int at and >= 0
                    && long.TryParse(value.AsSpan(at + 3).TrimEnd(), NumberStyles.None, CultureInfo.InvariantCulture, out long seconds))
                {
                    return TimeSpan.FromSeconds(seconds);
                }
            }
        }

        return null;
    }
}
