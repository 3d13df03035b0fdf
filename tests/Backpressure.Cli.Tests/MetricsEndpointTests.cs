using System.Globalization;
using System.Text.RegularExpressions;
using Backpressure.Cli.Load;

namespace Backpressure.Cli.Tests;

/// <summary><c>/metrics</c> after a known load from <c>bp load</c>: the counters match the client's count, and a real <c>promtool</c> accepts the scrape.</summary>
[Collection(ProcessWideMetricsTests.Name)]
public sealed partial class MetricsEndpointTests
{
    [Fact]
    public async Task AfterAKnownLoad_TheRequestCountersMatchWhatTheLoadClientCounted()
    {
        await using var server = await RunningServer.StartAsync(
            "--Backpressure:RateLimits:fixed-window:PermitLimit=7", "--Backpressure:RateLimits:fixed-window:Window=01:00:00",
            "--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:IoTime=00:00:00.200", "--Backpressure:Gauges:backpressure:PermitLimit=3");

        LoadResult limited = await new LoadRunner(new LoadSettings { Url = server.Url("/limited/fixed-window"), Requests = 40, Concurrency = 4 }, TimeProvider.System).RunAsync();
        LoadResult gauged = await new LoadRunner(new LoadSettings { Url = server.Url("/backpressure"), Requests = 45, Concurrency = 9 }, TimeProvider.System).RunAsync();
        string scrape = await server.Client.GetStringAsync("/metrics");

        Assert.Equal(7, limited.Succeeded);
        Assert.Equal(limited.Succeeded, Sample(scrape, "backpressure_requests_total", "backpressure_outcome=\"admitted\",backpressure_policy=\"fixed-window\""));
        Assert.Equal(limited.Refused, Sample(scrape, "backpressure_requests_total", "backpressure_outcome=\"refused\",backpressure_policy=\"fixed-window\""));
        Assert.True(gauged.Refused > 0, "a gauge of 3 under 9 workers refuses some calls");
        Assert.Equal(gauged.Succeeded, Sample(scrape, "backpressure_requests_total", "backpressure_outcome=\"admitted\",backpressure_policy=\"backpressure\""));
        Assert.Equal(gauged.Refused, Sample(scrape, "backpressure_requests_total", "backpressure_outcome=\"refused\",backpressure_policy=\"backpressure\""));
        Assert.Equal(gauged.Succeeded, Sample(scrape, "backpressure_request_duration_seconds_count", "backpressure_policy=\"backpressure\""));
        Assert.Equal(3, Sample(scrape, "backpressure_permits_limit", "backpressure_policy=\"backpressure\""));
    }

    [Fact]
    public async Task TheScrape_PassesPromtoolCheckMetrics()
    {
        await using var server = await RunningServer.StartAsync();
        await new LoadRunner(new LoadSettings { Url = server.Url("/limited/token-bucket"), Requests = 20, Concurrency = 2 }, TimeProvider.System).RunAsync();
        string scrape = await server.Client.GetStringAsync("/metrics");

        var (exit, output, error) = await ExternalCommand.RunAsync("promtool", ["check", "metrics"], input: scrape);

        Assert.True(exit == 0, $"promtool check metrics: exit {exit}\n{output}{error}");
        Assert.Contains("backpressure_requests_total", scrape, StringComparison.Ordinal);
    }

    private static double Sample(string scrape, string name, string labels)
    {
        foreach (Match match in SampleLine().Matches(scrape))
        {
            if (match.Groups["name"].Value == name && match.Groups["labels"].Value.Contains(labels, StringComparison.Ordinal))
            {
                return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail($"no sample {name}{{{labels}}} in the scrape:\n{scrape}");
        return 0;
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>\S+)$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex SampleLine();
}
