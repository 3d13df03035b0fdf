using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Backpressure.Cli;

/// <summary>Parses the values people type: durations such as <c>10s</c>, <c>500ms</c>, <c>2m</c>, <c>1h</c>, and headers <c>Name: value</c>.</summary>
internal static partial class CommandLineValues
{
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        Match match = DurationPattern().Match(text.Trim());
        if (!match.Success
            || !double.TryParse(match.Groups["number"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number))
        {
            return false;
        }

        duration = match.Groups["unit"].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(number),
            "" or "s" => TimeSpan.FromSeconds(number),
            "m" => TimeSpan.FromMinutes(number),
            "h" => TimeSpan.FromHours(number),
            _ => TimeSpan.MinValue,
        };
        return duration != TimeSpan.MinValue;
    }

    /// <summary>A positive duration option's value, or null with an error on the option that names what was wrong.</summary>
    public static TimeSpan? ParseDuration(ArgumentResult result)
    {
        string text = result.Tokens[0].Value;
        if (TryParseDuration(text, out TimeSpan parsed) && parsed > TimeSpan.Zero)
        {
            return parsed;
        }

        result.AddError($"malformed duration '{text}': expected a positive number with a unit, such as 500ms, 10s or 2m");
        return null;
    }

    /// <summary>
    /// Reads <paramref name="option"/> in a command's validator: its value, or <paramref name="fallback"/>
    /// when it was left out. False when it was given but cannot be read (see <see cref="TryRead"/>).
    /// </summary>
    public static bool TryGetGiven<T>(this CommandResult result, System.CommandLine.Option<T> option, T fallback, out T value)
    {
        value = fallback;
        return result.GetResult(option) is not { } given || given.TryRead(out value);
    }

    /// <summary>
    /// An option's value in a validator, or false when it cannot be read (given twice, or not of its type).
    /// System.CommandLine converts a value only when it is read, throws if that fails and has no way to ask
    /// first; the parse reports the same conversion error for the option by itself, so a validator that
    /// cannot read the value has nothing to add.
    /// </summary>
    public static bool TryRead<T>(this OptionResult result, out T value)
    {
        try
        {
            value = result.GetValueOrDefault<T>()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
    }

    /// <summary>Refuses a value of <paramref name="option"/> below <paramref name="least"/>, naming the option.</summary>
    public static void RequireAtLeast(this System.CommandLine.Option<int> option, int least) =>
        option.Validators.Add(r =>
        {
            if (r.TryRead(out int value) && value < least)
            {
                r.AddError($"{option.Name} must be at least {least} (was {value}).");
            }
        });

    /// <summary>A size such as <c>512</c>, <c>64KB</c> or <c>8MB</c>; KB and MB are binary (1024), as HTTP/2 windows are quoted.</summary>
    public static bool TryParseBytes(string text, out long bytes)
    {
        bytes = 0;
        Match match = BytesPattern().Match(text.Trim());
        if (!match.Success || !long.TryParse(match.Groups["number"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long number))
        {
            return false;
        }

        long unit = match.Groups["unit"].Value.ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "KB" or "KIB" or "K" => 1024,
            _ => 1024 * 1024,
        };
        if (number > long.MaxValue / unit)
        {
            return false;
        }

        bytes = number * unit;
        return true;
    }

    /// <summary>A byte-size option's value from <paramref name="least"/> to <paramref name="most"/>, or an error naming what was wrong.</summary>
    public static int ParseBytes(ArgumentResult result, string name, int least, int most)
    {
        string text = result.Tokens[0].Value;
        if (TryParseBytes(text, out long parsed) && parsed >= least && parsed <= most)
        {
            return (int)parsed;
        }

        result.AddError($"{name}: '{text}' is not a size from {least} to {most} bytes, such as 512, 64KB or 8MB");
        return 0;
    }

    public static bool TryParseHeader(string text, out KeyValuePair<string, string> header)
    {
        header = default;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        string name = text[..colon].Trim();
        if (name.Length == 0 || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return false;
        }

        header = new(name, text[(colon + 1)..].Trim());
        return true;
    }

    public static bool TryParseHttpUrl(string text, out Uri url) =>
        Uri.TryCreate(text, UriKind.Absolute, out url!) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps);

    [GeneratedRegex(@"^(?<number>\d+(\.\d+)?)(?<unit>ms|s|m|h)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^(?<number>\d+)\s*(?<unit>B|K|KB|KiB|M|MB|MiB)?$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex BytesPattern();
}
