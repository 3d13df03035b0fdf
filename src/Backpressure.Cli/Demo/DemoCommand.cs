using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Backpressure.Cli.Demo;

/// <summary><c>bp demo</c>: the seed's collapse experiment in one command, with no container.</summary>
internal static class DemoCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var defaults = new DemoSettings();
        var memoryLimit = new Option<int>("--memory-limit") { Description = "The server's memory limit in MiB (GC heap hard limit).", DefaultValueFactory = _ => defaults.MemoryLimitMegabytes };
        var concurrency = new Option<int>("-c") { Description = "Concurrent clients per endpoint.", DefaultValueFactory = _ => defaults.Concurrency };
        var duration = new Option<TimeSpan>("-z") { Description = "How long each endpoint is driven, e.g. 15s.", DefaultValueFactory = _ => defaults.DurationPerEndpoint, CustomParser = r => CommandLineValues.ParseDuration(r) ?? default };
        var memoryPerCall = new Option<int>("--memory-per-call") { Description = "MiB each call allocates and holds.", DefaultValueFactory = _ => defaults.MemoryPerCallMegabytes };
        var ioTime = new Option<TimeSpan>("--io-time") { Description = "I/O wait per call, e.g. 500ms.", DefaultValueFactory = _ => defaults.IoTime, CustomParser = r => CommandLineValues.ParseDuration(r) ?? default };
        var gaugeLimit = new Option<int>("--gauge-limit") { Description = "The pressure gauge's limit on /backpressure.", DefaultValueFactory = _ => defaults.GaugeLimit };
        var retryAfter = new Option<bool>("--retry-after") { Description = "Clients retry a 429 after the wait the server asked for (Retry-After-Ms, else Retry-After), at most 10 times, instead of sending again at once as hey does." };
        var endpoints = new Option<string[]>("--endpoints")
        {
            Description = "The endpoints driven, in order, comma-separated: any of /sync, /async, /backpressure and /adaptive.",
            DefaultValueFactory = _ => [.. defaults.Endpoints],
            CustomParser = r => ParseEndpoints(r, defaults.Endpoints),
        };
        var output = new Option<string>("--output", "-o") { Description = "Output format: text or json.", DefaultValueFactory = _ => "text" };
        output.AcceptOnlyFromAmong("text", "json");
        foreach (var option in new[] { memoryLimit, concurrency, memoryPerCall, gaugeLimit })
        {
            option.RequireAtLeast(1);
        }

        var command = new Command("demo", "Start the seed service under a memory limit and show /sync, /async, /backpressure and /adaptive under the same load, side by side.")
        {
            memoryLimit, concurrency, duration, memoryPerCall, ioTime, gaugeLimit, retryAfter, endpoints, output,
        };
        command.SetAction(async (parse, ct) =>
        {
            var settings = defaults with
            {
                MemoryLimitMegabytes = parse.GetValue(memoryLimit),
                Concurrency = parse.GetValue(concurrency),
                DurationPerEndpoint = parse.GetValue(duration),
                MemoryPerCallMegabytes = parse.GetValue(memoryPerCall),
                IoTime = parse.GetValue(ioTime),
                GaugeLimit = parse.GetValue(gaugeLimit),
                RetryAfter = parse.GetValue(retryAfter),
                Endpoints = parse.GetValue(endpoints) ?? defaults.Endpoints,
            };
            bool json = parse.GetValue(output) == "json";
            var runner = new DemoRunner(settings, TimeProvider.System);
            var rows = await runner.RunAsync(json ? null : line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"), ct);
            if (json)
            {
                parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(rows, Json));
            }
            else
            {
                Print(settings, rows);
            }

            return 0;
        });
        return command;
    }

    // One or more of the demo's own endpoints, each at most once: the table and its explanations know only those.
    private static string[] ParseEndpoints(ArgumentResult result, IReadOnlyList<string> known)
    {
        string text = string.Join(',', result.Tokens.Select(t => t.Value));
        string[] chosen = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? unknown = chosen.FirstOrDefault(e => !known.Contains(e, StringComparer.Ordinal));
        if (chosen.Length == 0 || unknown is not null || chosen.Distinct(StringComparer.Ordinal).Count() != chosen.Length)
        {
            result.AddError($"malformed --endpoints '{text}': expected one or more of {string.Join(", ", known)}, comma-separated, each at most once");
            return [];
        }

        return chosen;
    }

    private static void Print(DemoSettings settings, IReadOnlyList<DemoRow> rows)
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 120;
        }

        var table = new Table().Border(TableBorder.Rounded);
        foreach (string column in new[] { "endpoint", "ok", "429", "errors", "timeouts", "ok/s", "p50", "p99", "in flight", "demand", "RSS", "alive" })
        {
            table.AddColumn(new TableColumn(column).RightAligned().NoWrap());
        }

        foreach (DemoRow row in rows)
        {
            table.AddRow(
                row.Endpoint,
                Count(row.Ok),
                Count(row.Refused),
                row.Errors > 0 ? $"[red]{row.Errors}[/]" : "0",
                row.Timeouts > 0 ? $"[red]{row.Timeouts}[/]" : "0",
                row.Goodput.ToString("0.0", CultureInfo.InvariantCulture),
                Millis(row.P50),
                Millis(row.P99),
                Count(row.PeakCallsInFlight),
                row.PeakMemoryDemandBytes > settings.MemoryLimitMegabytes * 1024L * 1024L ? $"[red]{Mebibytes(row.PeakMemoryDemandBytes)}[/]" : Mebibytes(row.PeakMemoryDemandBytes),
                Mebibytes(row.PeakMemoryBytes),
                row.Survived ? "[green]yes[/]" : "[red]no[/]");
        }

        AnsiConsole.WriteLine();
        AnsiConsole.MarkupLine(Markup.Escape(
            $"{settings.Concurrency} clients for {settings.DurationPerEndpoint.TotalSeconds:0.#} s per endpoint; server memory limit {settings.MemoryLimitMegabytes} MiB; each call holds {settings.MemoryPerCallMegabytes} MiB for {settings.IoTime.TotalMilliseconds:0} ms; gauge limit {settings.GaugeLimit}"
            + (settings.RetryAfter ? $"; clients retry a 429 after the wait the server asked for ({rows.Sum(r => r.Retries)} retries in all; 429 counts calls refused on their last try)." : ".")));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]p50, p99: latency of successful calls. in flight: most calls worked on at once; demand: in flight x memory per call; RSS: peak resident memory, which sits near the limit for every endpoint: the GC only collects when it must.[/]");
        AnsiConsole.WriteLine();
        foreach (DemoRow row in rows)
        {
            AnsiConsole.MarkupLine(Markup.Escape(Explain(row)));
        }

        if (Summary(rows) is { } summary)
        {
            AnsiConsole.WriteLine();
            AnsiConsole.MarkupLine(Markup.Escape(summary));
        }
    }

    /// <summary>One sentence on the adaptive limit against the unprotected and the fixed-limit endpoints, when all three ran.</summary>
    internal static string? Summary(IReadOnlyList<DemoRow> rows)
    {
        DemoRow? adaptive = rows.FirstOrDefault(r => r.Endpoint == "/adaptive");
        DemoRow? unprotected = rows.FirstOrDefault(r => r.Endpoint == "/async");
        DemoRow? gauge = rows.FirstOrDefault(r => r.Endpoint == "/backpressure");
        if (adaptive is null || unprotected is null || gauge is null)
        {
            return null;
        }

        string failures = adaptive.Errors + adaptive.Timeouts == 0 ? "with no call failing" : $"with {adaptive.Errors + adaptive.Timeouts} calls failing";
        return $"In short: /adaptive found its own limit ({adaptive.PeakCallsInFlight} at most in flight) and served {adaptive.Goodput:0.0} calls/s {failures}, "
            + $"against {unprotected.Goodput:0.0}/s for /async ({unprotected.Errors + unprotected.Timeouts} failed) and {gauge.Goodput:0.0}/s for /backpressure's fixed limit.";
    }

    private static string Explain(DemoRow row) => row switch
    {
        { Survived: false } => $"{row.Endpoint}: the server died under the load{(row.CrashReason is null ? "" : $" ({row.CrashReason.Trim()})")}.",
        { Endpoint: "/adaptive" } => $"{row.Endpoint}: found its limit by itself, at most {row.PeakCallsInFlight} calls at once ({Mebibytes(row.PeakMemoryDemandBytes)}); refused {row.Refused} at once with 429 and served {row.Ok}, p99 {Millis(row.P99)}{(row.Errors + row.Timeouts > 0 ? $"; {row.Errors + row.Timeouts} failed" : "")}.",
        { Refused: > 0, Errors: 0 } => $"{row.Endpoint}: refused {row.Refused} calls at once with 429 and kept serving the rest: {row.Ok} calls, p99 {Millis(row.P99)}.",
        { Errors: > 0 } => $"{row.Endpoint}: {row.Errors + row.Timeouts} calls failed: with no limit it took {row.PeakCallsInFlight} calls at once, asking for {Mebibytes(row.PeakMemoryDemandBytes)}, and ran out of memory.",
        _ => $"{row.Endpoint}: each call blocks a thread, so only {row.PeakCallsInFlight} ran at once: {row.Ok} calls served, median {Millis(row.P50)}, p99 {Millis(row.P99)}{(row.Timeouts > 0 ? $", {row.Timeouts} timed out" : "")}.",
    };

    private static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Millis(TimeSpan t) => $"{t.TotalMilliseconds:0} ms";

    private static string Mebibytes(long bytes) => $"{bytes / (1024 * 1024)} MiB";

}
