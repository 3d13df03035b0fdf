using System.Globalization;

namespace Backpressure;

/// <summary>
/// Shared source, compiled into the server adapter and the HTTP client: the <c>Retry-After-Ms</c> header, the wait in
/// whole milliseconds rounded up. <c>Retry-After</c> (RFC 9110) has whole seconds only, so a concurrency limit whose
/// next permit is due in 30 ms must say "1", and a client that honours it waits some thirty times too long while the
/// service's permits go unused. OpenAI's and Azure's APIs send <c>retry-after-ms</c> for the same reason, and their SDKs
/// read it before <c>Retry-After</c>; we send both and read this one first.
/// </summary>
internal static class RetryAfterMilliseconds
{
    /// <summary>The header's name (HTTP header names are case-insensitive).</summary>
    public const string Header = "Retry-After-Ms";

    /// <summary>The longest wait the header is read as, a day: longer values are treated as absent (Retry-After still applies).</summary>
    private const long MostMilliseconds = 24 * 60 * 60 * 1000;

    /// <summary>The header's value for <paramref name="delay"/>: whole milliseconds, rounded up, never negative.</summary>
    public static string Format(TimeSpan delay) =>
        Math.Max(0, (long)Math.Ceiling(delay.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads a value of the header: a non-negative whole number of milliseconds of at most a day; anything else is not a wait.</summary>
    public static bool TryParse(string? value, out TimeSpan delay)
    {
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long milliseconds)
            && milliseconds <= MostMilliseconds)
        {
            delay = TimeSpan.FromMilliseconds(milliseconds);
            return true;
        }

        delay = TimeSpan.Zero;
        return false;
    }
}
