using Backpressure.Cli.Load;

namespace Backpressure.Cli.Demo;

/// <summary>
/// Drives each seed endpoint in turn with the same concurrent load, each against a fresh server
/// under the same memory limit (so one endpoint's damage does not colour the next), and reports
/// what each did.
/// </summary>
internal sealed class DemoRunner(DemoSettings settings, TimeProvider timeProvider)
{
    public async Task<IReadOnlyList<DemoRow>> RunAsync(Action<string>? onProgress = null, CancellationToken ct = default)
    {
        var rows = new List<DemoRow>();
        foreach (string endpoint in settings.Endpoints)
        {
            onProgress?.Invoke($"Starting the server (GC heap limit {settings.MemoryLimitMegabytes} MiB) and driving {endpoint} with {settings.Concurrency} clients for {settings.DurationPerEndpoint.TotalSeconds:0.#} s…");
            rows.Add(await RunEndpointAsync(endpoint, ct));
        }

        return rows;
    }

    private async Task<DemoRow> RunEndpointAsync(string endpoint, CancellationToken ct)
    {
        await using ServerProcess server = await ServerProcess.StartAsync(settings, ct);
        var load = new LoadRunner(
            new LoadSettings
            {
                Url = new Uri(server.BaseAddress, endpoint),
                Concurrency = settings.Concurrency,
                Duration = settings.DurationPerEndpoint,
                Timeout = settings.Timeout,
                RetryAfter = settings.RetryAfter,
            },
            timeProvider);
        LoadResult result = await load.RunAsync(ct);
        bool diedDuringRun = server.HasExited;
        bool survived = !diedDuringRun && await server.IsAnsweringAsync();

        // One last look, so the peak includes the end of the run.
        await Task.Delay(TimeSpan.FromMilliseconds(300), timeProvider, ct);
        return new DemoRow(
            endpoint,
            result.Succeeded,
            result.Refused,
            result.ErrorCount,
            result.Timeouts,
            result.Goodput,
            result.Successes.Percentile(50),
            result.Successes.Percentile(99),
            server.PeakCallsInFlight,
            server.PeakCallsInFlight * (long)settings.MemoryPerCallMegabytes * 1024 * 1024,
            server.PeakMemoryBytes,
            survived,
            diedDuringRun ? server.LastOutput.LastOrDefault(line => line.Contains("Exception", StringComparison.Ordinal)) : null,
            result.Retries);
    }
}

/// <summary>What one endpoint did under the demo's load.</summary>
/// <param name="Endpoint">The path driven.</param>
/// <param name="Ok">Calls answered 2xx.</param>
/// <param name="Refused">Calls answered 429.</param>
/// <param name="Errors">Calls that failed: other statuses (such as 500 from running out of memory) and transport errors.</param>
/// <param name="Timeouts">Calls with no answer within the timeout.</param>
/// <param name="Goodput">Successful calls per second.</param>
/// <param name="P50">Median latency of successful calls.</param>
/// <param name="P99">99th-percentile latency of successful calls.</param>
/// <param name="PeakCallsInFlight">The most calls the server worked on at once.</param>
/// <param name="PeakMemoryDemandBytes">What those calls asked for: peak calls in flight × memory per call.</param>
/// <param name="PeakMemoryBytes">The server's peak resident memory.</param>
/// <param name="Survived">The server still answered after the run.</param>
/// <param name="CrashReason">The last exception line the server printed, when it died.</param>
/// <param name="Retries">Refused calls sent again after the wait the server asked for (with <see cref="DemoSettings.RetryAfter"/>); <paramref name="Refused"/> then counts those refused on their last attempt.</param>
internal sealed record DemoRow(
    string Endpoint, long Ok, long Refused, long Errors, long Timeouts, double Goodput,
    TimeSpan P50, TimeSpan P99, int PeakCallsInFlight, long PeakMemoryDemandBytes, long PeakMemoryBytes, bool Survived,
    string? CrashReason, long Retries);
