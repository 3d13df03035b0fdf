using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Backpressure.Cli.Grpc;

/// <summary><c>bp grpc subscribe|upload ADDRESS</c>: gRPC streams for a bounded time, and how flow control paced them.</summary>
internal static class GrpcCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create() => new("grpc", "Stream over gRPC (HTTP/2) for a bounded time and show messages/s, bytes/s and how long the sender waited on flow control.")
    {
        Create(GrpcCall.Subscribe, "subscribe", "The server streams to us; --read-delay makes us a slow reader, --window sets our receive window."),
        Create(GrpcCall.Upload, "upload", "We stream to the server, which reads at its configured rate; our writes wait on its window."),
    };

    private static Command Create(GrpcCall call, string name, string description)
    {
        var address = new Argument<Uri>("address")
        {
            Description = "The server's gRPC address, such as http://127.0.0.1:8081 (cleartext HTTP/2).",
            CustomParser = r =>
            {
                string text = r.Tokens[0].Value;
                if (CommandLineValues.TryParseHttpUrl(text, out Uri parsed))
                {
                    return parsed;
                }

                r.AddError($"malformed address '{text}': expected http://host:port");
                return null;
            },
        };
        var streams = new Option<int>("-c") { Description = "Concurrent calls; more than the server's per-method limit shows its RESOURCE_EXHAUSTED refusals.", DefaultValueFactory = _ => 1 };
        var size = new Option<int>("--size") { Description = "Payload bytes per message, such as 512, 16KB or 1MB.", DefaultValueFactory = _ => 16 * 1024, CustomParser = r => CommandLineValues.ParseBytes(r, "--size", 0, 64 * 1024 * 1024) };
        var rate = new Option<int>("--rate", "-q") { Description = "Messages per second per call; 0 for as fast as flow control allows.", DefaultValueFactory = _ => 0 };
        var duration = new Option<TimeSpan>("-z") { Description = "How long each call runs, e.g. 10s.", DefaultValueFactory = _ => TimeSpan.FromSeconds(10), CustomParser = r => CommandLineValues.ParseDuration(r) ?? default };
        var output = new Option<string>("--output", "-o") { Description = "Output format: text or json.", DefaultValueFactory = _ => "text" };
        output.AcceptOnlyFromAmong("text", "json");
        streams.RequireAtLeast(1);
        rate.RequireAtLeast(0);
        var command = new Command(name, description) { address, streams, size, rate, duration, output };

        var readDelay = new Option<TimeSpan>("--read-delay") { Description = "A pause after reading each message, e.g. 50ms, which makes a slow reader.", CustomParser = r => CommandLineValues.ParseDuration(r) ?? default };
        var window = new Option<int?>("--window") { Description = "Our HTTP/2 receive window per stream, such as 64KB, 1MB or 8MB (at least 64KB less one byte: 65535).", CustomParser = r => CommandLineValues.ParseBytes(r, "--window", 65_535, int.MaxValue) };
        if (call == GrpcCall.Subscribe)
        {
            command.Options.Add(readDelay);
            command.Options.Add(window);
        }

        command.SetAction(async (parse, ct) =>
        {
            var settings = new GrpcRunSettings
            {
                Address = parse.GetValue(address)!,
                Call = call,
                Streams = parse.GetValue(streams),
                PayloadBytes = parse.GetValue(size),
                Rate = parse.GetValue(rate),
                Duration = parse.GetValue(duration),
                ReadDelay = call == GrpcCall.Subscribe ? parse.GetValue(readDelay) : TimeSpan.Zero,
                WindowBytes = call == GrpcCall.Subscribe ? parse.GetValue(window) : null,
            };
            IReadOnlyList<GrpcStreamResult> results = await new GrpcStreamRunner(settings, TimeProvider.System).RunAsync(ct);
            if (parse.GetValue(output) == "json")
            {
                parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(results, Json));
            }
            else
            {
                Print(settings, results);
            }

            return results.All(r => r.Status is "OK" or "Cancelled" or "ResourceExhausted") ? 0 : 1;
        });
        return command;
    }

    private static void Print(GrpcRunSettings settings, IReadOnlyList<GrpcStreamResult> results)
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 140;
        }

        var ran = results.Where(r => r.Status is "OK" or "Cancelled").ToList();
        var refused = results.Where(r => r.Status == "ResourceExhausted").ToList();
        var failed = results.Except(ran).Except(refused).ToList();
        double seconds = Math.Max(1e-9, settings.Duration.TotalSeconds);
        bool subscribe = settings.Call == GrpcCall.Subscribe;
        string pace = settings.Rate > 0 ? $"{settings.Rate}/s" : "as fast as flow control allows";
        string reader = subscribe
            ? $", reading {(settings.ReadDelay > TimeSpan.Zero ? $"every {settings.ReadDelay.TotalMilliseconds:0} ms" : "as fast as we can")}, our window {Bytes(settings.WindowBytes ?? 65_535)}"
            : "";
        AnsiConsole.MarkupLine(Markup.Escape(
            $"{settings.Call.ToString().ToLowerInvariant()}: {settings.Streams} call(s) of {Bytes(settings.PayloadBytes)} messages {pace}{reader}, for {seconds:0.#} s against {settings.Address}"));

        var grid = new Grid().AddColumn().AddColumn();
        long messages = ran.Sum(r => r.Messages);
        long bytes = ran.Sum(r => r.Bytes);
        grid.AddRow("calls", $"{ran.Count} ran, {refused.Count} refused (RESOURCE_EXHAUSTED), {failed.Count} failed");
        if (refused.Count > 0)
        {
            grid.AddRow("retry pushback", Markup.Escape(string.Join(", ", refused.Select(r => r.PushbackMilliseconds is { } ms ? $"{ms} ms" : "none").Distinct())));
        }

        grid.AddRow(subscribe ? "messages read" : "messages written", $"{N(messages)} ({F(messages / seconds)}/s in all)");
        grid.AddRow("bytes", $"{Bytes(bytes)} ({Bytes((long)(bytes / seconds))}/s in all)");
        if (ran.Count > 0)
        {
            TimeSpan waited = ran.Aggregate(TimeSpan.Zero, (sum, r) => sum + r.SenderWaited) / ran.Count;
            grid.AddRow(subscribe ? "server's writes waited" : "our writes waited", $"{waited.TotalSeconds:0.00} s of {seconds:0.#} s per call ({100 * waited.TotalSeconds / seconds:0}%), on the reader's window");
        }

        if (subscribe && ran.Any(r => r.AgeP50Milliseconds is not null))
        {
            grid.AddRow("message age at read", $"p50 {ran.Max(r => r.AgeP50Milliseconds):0.0} ms, p99 {ran.Max(r => r.AgeP99Milliseconds):0.0} ms (worst call)");
        }

        if (!subscribe)
        {
            grid.AddRow("server read", ran.Any(r => r.ServerReceived is null) ? "no summary from the server" : N(ran.Sum(r => r.ServerReceived ?? 0)));
        }

        grid.AddRow("gaps", N(ran.Sum(r => r.Gaps)));
        foreach (var failure in failed.GroupBy(r => $"{r.Status}: {r.Detail}"))
        {
            grid.AddRow("[red]failed[/]", Markup.Escape($"{failure.Count()}× {failure.Key}"));
        }

        AnsiConsole.Write(grid);
        AnsiConsole.MarkupLine(subscribe
            ? "[grey]The server never paces itself: each write waits while our window is full, so a slow reader slows the server and a bigger window lets more ride in flight.[/]"
            : "[grey]We never pace ourselves (without --rate): each write waits while the server's window is full, and the server reads at its own slow rate.[/]");
    }

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.##} MiB"),
        >= 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.##} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
