using System.CommandLine;
using System.CommandLine.Parsing;
using Spectre.Console;

namespace Backpressure.Cli.Load;

/// <summary><c>bp load URL</c>: hey's options and output, plus <c>--retry-after</c> and <c>--output json</c>.</summary>
internal static class LoadCommand
{
    public static Command Create()
    {
        var url = new Argument<Uri>("url")
        {
            Description = "The absolute http:// or https:// URL to load.",
            CustomParser = result => CommandLineValues.TryParseHttpUrl(result.Tokens[0].Value, out Uri parsed)
                ? parsed
                : Fail<Uri>(result, $"malformed URL '{result.Tokens[0].Value}': expected an absolute http:// or https:// URL")!,
        };
        var requests = new Option<int>("-n") { Description = "Number of requests to run.", DefaultValueFactory = _ => LoadSettings.DefaultRequests };
        var concurrency = new Option<int>("-c") { Description = "Number of workers running concurrently (and connections).", DefaultValueFactory = _ => LoadSettings.DefaultConcurrency };
        var duration = new Option<TimeSpan?>("-z") { Description = "Duration to send requests for, e.g. 10s, 3m; when given, -n is ignored.", CustomParser = CommandLineValues.ParseDuration };
        var warmup = new Option<TimeSpan>("--warmup") { Description = "Send requests for this long first without counting or timing them, e.g. 5s; adds to -z and -n.", CustomParser = r => CommandLineValues.ParseDuration(r) ?? default };
        var rate = new Option<double>("-q") { Description = "Rate limit, in queries per second, per worker. 0 for none.", DefaultValueFactory = _ => 0 };
        var openRate = new Option<double>("--rate") { Description = "Open loop: requests per second in all, on a fixed schedule, latency measured from each request's due time (like wrk2). -c is then the connection count.", DefaultValueFactory = _ => 0 };
        var method = new Option<string>("-m") { Description = "HTTP method.", DefaultValueFactory = _ => "GET" };
        var headers = new Option<string[]>("-H") { Description = "Custom HTTP header, 'Name: value'. Repeatable.", AllowMultipleArgumentsPerToken = false };
        var timeout = new Option<TimeSpan>("--timeout", "-t") { Description = "Timeout of each request, e.g. 20s.", DefaultValueFactory = _ => TimeSpan.FromSeconds(20), CustomParser = r => CommandLineValues.ParseDuration(r) ?? default };
        var retryAfter = new Option<bool>("--retry-after") { Description = "Retry a 429 after the wait the server asked for (Retry-After-Ms, else Retry-After; backing off exponentially with jitter when it sent neither)." };
        var maxRetries = new Option<int>("--max-retries") { Description = "Most retries of one request with --retry-after.", DefaultValueFactory = _ => 10 };
        var mix = new Option<List<KeyValuePair<string, int>>>("--mix")
        {
            Description = "Send a mix of priorities, e.g. critical=20,normal=30,sheddable=30,batch=20 (weights): each request names one in --mix-header; every figure is also reported per priority.",
            CustomParser = ParseMix,
        };
        var mixHeader = new Option<string>("--mix-header") { Description = "The header that carries a request's priority with --mix.", DefaultValueFactory = _ => "X-Criticality" };
        var users = new Option<int>("--users") { Description = "Send as this many distinct users, a random one per request, in X-Client-Id: user-N (a waiting room's cohorts). 0 for none.", DefaultValueFactory = _ => 0 };
        var clientThrottle = new Option<bool>("--client-throttle") { Description = "Send through Backpressure's client handler: refuse calls locally while the server keeps refusing (SRE adaptive throttling) and while a Retry-After lasts; reports how many never left the client. Without --rate a worker waits out the Retry-After-Ms (else Retry-After) of a call refused locally." };
        var clientRetries = new Option<int>("--client-retries") { Description = "Retry a 429 or 503 this many times in Backpressure's client handler: within its retry budget and honouring Retry-After with --client-throttle, blindly without it; reports the requests sent per call.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--output", "-o") { Description = "Output format: text (hey's) or json.", DefaultValueFactory = _ => "text" };
        output.AcceptOnlyFromAmong("text", "json");

        requests.RequireAtLeast(1);
        concurrency.RequireAtLeast(1);
        rate.Validators.Add(r =>
        {
            if (r.TryRead(out double value) && value is < 0 or double.NaN)
            {
                r.AddError("-q must be zero or more queries per second.");
            }
        });
        openRate.Validators.Add(r =>
        {
            if (r.TryRead(out double value) && value is < 0 or double.NaN or double.PositiveInfinity)
            {
                r.AddError("--rate must be zero or more requests per second.");
            }
        });
        maxRetries.RequireAtLeast(0);
        users.RequireAtLeast(0);
        clientRetries.Validators.Add(r =>
        {
            if (r.TryRead(out int value) && value is < 0 or > 10)
            {
                r.AddError("--client-retries must be from 0 to 10.");
            }
        });
        mixHeader.Validators.Add(r =>
        {
            string value = r.GetValueOrDefault<string>() ?? "";
            if (value.Length == 0 || !value.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'))
            {
                r.AddError($"malformed --mix-header '{value}': expected a header name of letters, digits, '-' and '_'");
            }
        });
        timeout.Validators.Add(r =>
        {
            if (r.TryRead(out TimeSpan value) && value <= TimeSpan.Zero)
            {
                r.AddError("--timeout must be greater than zero.");
            }
        });
        headers.Validators.Add(r =>
        {
            foreach (string header in r.GetValueOrDefault<string[]>() ?? [])
            {
                if (!CommandLineValues.TryParseHeader(header, out _))
                {
                    r.AddError($"malformed header '{header}': expected 'Name: value'");
                }
            }
        });
        method.Validators.Add(r =>
        {
            string value = r.GetValueOrDefault<string>() ?? "";
            if (value.Length == 0 || !value.All(char.IsAsciiLetter))
            {
                r.AddError($"malformed method '{value}': expected letters only, such as GET or POST");
            }
        });

        var command = new Command("load", "Fire requests at a URL, like hey, and print the summary, latency histogram and status codes.")
        {
            url, requests, concurrency, duration, warmup, rate, openRate, method, headers, timeout, retryAfter, maxRetries, mix, mixHeader, users, clientThrottle, clientRetries, output,
        };
        command.Validators.Add(r =>
        {
            // An option left out reads as 0 here, not as its default, so ask whether it was given; one given
            // but unreadable (twice, or not a number) has its own error already, and these checks wait for it.
            if (!r.TryGetGiven(requests, LoadSettings.DefaultRequests, out int n)
                || !r.TryGetGiven(concurrency, LoadSettings.DefaultConcurrency, out int c)
                || !r.TryGetGiven(openRate, 0, out double openValue)
                || !r.TryGetGiven(retryAfter, false, out bool honoursRetryAfter))
            {
                return;
            }

            bool open = openValue > 0;
            if (r.GetResult(duration) is null && !open && n >= 1 && c >= 1 && n < c)
            {
                r.AddError($"-n cannot be less than -c ({n} < {c}).");
            }

            if (open && honoursRetryAfter)
            {
                r.AddError("--rate cannot be combined with --retry-after: an open-loop schedule does not wait for anyone.");
            }

            if (open && r.GetResult(rate) is not null)
            {
                r.AddError("--rate cannot be combined with -q: the first sets the rate in all, the second per worker.");
            }
        });
        command.SetAction(async (parse, ct) =>
        {
            var settings = new LoadSettings
            {
                Url = parse.GetRequiredValue(url),
                Requests = parse.GetValue(requests),
                Concurrency = parse.GetValue(concurrency),
                Duration = parse.GetValue(duration),
                Warmup = parse.GetValue(warmup),
                RatePerWorker = parse.GetValue(rate),
                Rate = parse.GetValue(openRate),
                Method = new HttpMethod(parse.GetValue(method)!.ToUpperInvariant()),
                Headers = (parse.GetValue(headers) ?? [])
                    .Select(h => CommandLineValues.TryParseHeader(h, out var kv) ? kv : default)
                    .ToList(),
                Timeout = parse.GetValue(timeout),
                RetryAfter = parse.GetValue(retryAfter),
                MaxRetries = parse.GetValue(maxRetries),
                Mix = parse.GetValue(mix) ?? [],
                MixHeader = parse.GetValue(mixHeader)!,
                Users = parse.GetValue(users),
                ClientThrottle = parse.GetValue(clientThrottle),
                ClientRetries = parse.GetValue(clientRetries),
            };
            bool json = parse.GetValue(output) == "json";
            LoadResult result = await RunWithProgressAsync(settings, showProgress: !json && !Console.IsOutputRedirected, ct);
            parse.InvocationConfiguration.Output.WriteLine(json ? LoadReport.ToJson(result) : LoadReport.ToText(result));
            return 0;
        });
        return command;
    }

    /// <summary>Parses <c>name=weight,...</c>: names of letters, digits and '-', weights whole numbers from 1 to 1,000,000, no name twice.</summary>
    private static List<KeyValuePair<string, int>> ParseMix(ArgumentResult result)
    {
        string text = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
        var mix = new List<KeyValuePair<string, int>>();
        foreach (string part in text.Split(','))
        {
            string[] pair = part.Split('=');
            if (pair.Length != 2 || pair[0].Length == 0 || !pair[0].All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '-')
                || !int.TryParse(pair[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int weight)
                || weight is < 1 or > 1_000_000)
            {
                result.AddError($"malformed --mix '{text}': expected name=weight pairs separated by commas, such as critical=20,normal=30, each weight a whole number from 1 to 1000000");
                return [];
            }

            if (mix.Any(m => m.Key == pair[0]))
            {
                result.AddError($"malformed --mix '{text}': '{pair[0]}' is named twice");
                return [];
            }

            mix.Add(KeyValuePair.Create(pair[0], weight));
        }

        return mix;
    }

    private static async Task<LoadResult> RunWithProgressAsync(LoadSettings settings, bool showProgress, CancellationToken ct)
    {
        var runner = new LoadRunner(settings, TimeProvider.System);
        if (!showProgress)
        {
            return await runner.RunAsync(ct);
        }

        LoadResult? result = null;
        await AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var started = TimeProvider.System.GetTimestamp();
                ProgressTask bar = progress.AddTask(
                    settings.Duration is null ? $"{settings.Requests} requests" : $"{(settings.Warmup + settings.Duration.Value).TotalSeconds:0.#} s",
                    maxValue: (settings.Warmup + settings.Duration)?.TotalSeconds ?? settings.Requests);
                Task<LoadResult> run = runner.RunAsync(ct);
                while (!run.IsCompleted)
                {
                    bar.Value = settings.Duration is null
                        ? runner.Completed
                        : Math.Min(bar.MaxValue, TimeProvider.System.GetElapsedTime(started).TotalSeconds);
                    await Task.WhenAny(run, Task.Delay(100, ct));
                }

                result = await run;
            });
        return result!;
    }

    private static T? Fail<T>(ArgumentResult result, string message)
    {
        result.AddError(message);
        return default;
    }
}
