using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Backpressure.Cli.WebSockets;

/// <summary><c>bp ws URL</c>: WebSocket clients, some slow, and what each class of them saw.</summary>
internal static class WebSocketCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var url = new Argument<Uri>("url")
        {
            Description = "A ws:// URL: /ws/feed?policy=drop-oldest&queue=50&rate=100 to receive, /ws/ingest?... to send.",
            CustomParser = r =>
            {
                string text = r.Tokens[0].Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out Uri? parsed) && parsed.Scheme is "ws" or "wss")
                {
                    return parsed;
                }

                r.AddError($"malformed URL '{text}': expected ws://host:port/path");
                return null;
            },
        };
        var clients = new Option<int>("-c") { Description = "Clients to connect.", DefaultValueFactory = _ => 10 };
        var slow = new Option<int>("--slow") { Description = "Feed: how many clients read slowly. Ingest: how many ignore flow.pause.", DefaultValueFactory = _ => 0 };
        var readDelay = new Option<TimeSpan>("--read-delay") { Description = "Feed: a slow client's pause after each message, e.g. 100ms.", DefaultValueFactory = _ => TimeSpan.FromMilliseconds(100), CustomParser = r => CommandLineValues.ParseDuration(r) ?? default };
        var duration = new Option<TimeSpan>("-z") { Description = "How long the clients run, e.g. 10s.", DefaultValueFactory = _ => TimeSpan.FromSeconds(10), CustomParser = r => CommandLineValues.ParseDuration(r) ?? default };
        var sendRate = new Option<int>("--send-rate") { Description = "Ingest: messages per second per client while not paused; 0 for as fast as possible (which overshoots a pause by whatever is in flight).", DefaultValueFactory = _ => 200 };
        var size = new Option<int>("--size") { Description = "Ingest: payload bytes per message.", DefaultValueFactory = _ => 64 };
        var mode = new Option<string>("--mode") { Description = "feed or ingest; by default read from the URL's path." };
        mode.AcceptOnlyFromAmong("feed", "ingest");
        var output = new Option<string>("--output", "-o") { Description = "Output format: text or json.", DefaultValueFactory = _ => "text" };
        output.AcceptOnlyFromAmong("text", "json");
        clients.RequireAtLeast(1);
        slow.RequireAtLeast(0);
        sendRate.RequireAtLeast(0);
        size.RequireAtLeast(0);

        var command = new Command("ws", "Connect WebSocket clients, some of them slow, for a bounded time, and show per class of client what it received, what it missed, and how it was treated.")
        {
            url, clients, slow, readDelay, duration, sendRate, size, mode, output,
        };
        command.SetAction(async (parse, ct) =>
        {
            Uri target = parse.GetValue(url)!;
            string chosen = parse.GetValue(mode) ?? (target.AbsolutePath.EndsWith("/ingest", StringComparison.Ordinal) ? "ingest" : "feed");
            var settings = new WebSocketLoadSettings
            {
                Url = target,
                Ingest = chosen == "ingest",
                Clients = parse.GetValue(clients),
                Slow = Math.Min(parse.GetValue(slow), parse.GetValue(clients)),
                ReadDelay = parse.GetValue(readDelay),
                Duration = parse.GetValue(duration),
                SendRate = parse.GetValue(sendRate),
                PayloadBytes = parse.GetValue(size),
            };
            var results = await new WebSocketLoadRunner(settings, TimeProvider.System).RunAsync(ct);
            if (parse.GetValue(output) == "json")
            {
                parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(results, Json));
            }
            else
            {
                Print(settings, results);
            }

            return results.Any(r => r.Error is not null) ? 1 : 0;
        });
        return command;
    }

    private static void Print(WebSocketLoadSettings settings, IReadOnlyList<WebSocketClientResult> results)
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 140;
        }

        var table = new Table().Border(TableBorder.Rounded);
        string[] columns = settings.Ingest
            ? ["class", "clients", "sent", "sent/s each", "processed", "dropped", "pauses", "resumes", "errors", "disconnected", "ended with"]
            : ["class", "clients", "received", "msg/s each", "gaps", "pauses", "resumes", "disconnected", "ended with"];
        foreach (string column in columns)
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        double seconds = settings.Duration.TotalSeconds;
        foreach (var group in results.GroupBy(r => r.Class))
        {
            var all = group.ToList();
            string endings = string.Join("; ", all.GroupBy(r => r.Error ?? r.Ending).Select(g => $"{g.Count()}× {g.Key}"));
            string disconnected = N(all.Count(r => r.Disconnected));
            if (settings.Ingest)
            {
                long sent = all.Sum(r => r.Sent);
                table.AddRow(group.Key, N(all.Count), N(sent), F(sent / seconds / all.Count), N(all.Sum(r => r.Processed ?? 0)),
                    N(all.Sum(r => r.Dropped ?? 0)), N(all.Sum(r => r.Pauses)), N(all.Sum(r => r.Resumes)), N(all.Sum(r => r.ErrorEvents)),
                    disconnected, Markup.Escape(endings));
            }
            else
            {
                long received = all.Sum(r => r.Received);
                table.AddRow(group.Key, N(all.Count), N(received), F(received / seconds / all.Count), N(all.Sum(r => r.Gaps)),
                    N(all.Sum(r => r.Pauses)), N(all.Sum(r => r.Resumes)), disconnected, Markup.Escape(endings));
            }
        }

        AnsiConsole.MarkupLine(Markup.Escape($"{settings.Clients} clients ({settings.Slow} {(settings.Ingest ? "ignoring flow.pause" : $"reading every {settings.ReadDelay.TotalMilliseconds:0} ms")}) for {seconds:0.#} s against {settings.Url}"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(settings.Ingest
            ? "[grey]processed/dropped: the server's own count, from its summary at close. A polite client stops at flow.pause and goes on at flow.resume.[/]"
            : "[grey]gaps: sequence numbers the client never saw (dropped by the server for that client alone).[/]");
    }

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);
}
