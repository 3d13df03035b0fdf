using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Backpressure.Server.Alerts;

namespace Backpressure.Server.Tests;

/// <summary>Alert rules in the running server (<c>GET /alerts</c>, the metrics), and the same rules as Prometheus rules checked by a real <c>promtool</c>.</summary>
[Collection(HeapMeasuringTests.Name)]
public sealed class AlertsTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    [Fact]
    public async Task AGaugeHeldOverItsThreshold_RaisesTheAlertAfterItsDuration_ThenClearsWhenTheLoadEnds()
    {
        await using var server = await RunningServer.StartAsync(
            "--SeedRequest:HoldTime=00:00:03", "--Backpressure:Gauges:request:PermitLimit=4",
            "--Backpressure:Alerts:EvaluationInterval=00:00:00.100",
            "--Backpressure:Alerts:Rules:0:Name=request-gauge-busy", "--Backpressure:Alerts:Rules:0:Signal=gauge.utilisation:request",
            "--Backpressure:Alerts:Rules:0:Threshold=0.5", "--Backpressure:Alerts:Rules:0:For=00:00:00.500");

        var holding = Enumerable.Range(0, 4).Select(_ => server.Client.GetAsync("/request")).ToList();
        AlertReport firing = await WaitForAsync(server, "firing", TimeSpan.FromSeconds(10));
        var responses = await Task.WhenAll(holding);
        AlertReport cleared = await WaitForAsync(server, "inactive", TimeSpan.FromSeconds(10));
        string metrics = await server.Client.GetStringAsync("/metrics");

        Assert.Equal(1.0, firing.Value);
        Assert.NotNull(firing.RaisedAt);
        Assert.True(firing.RaisedAt - firing.Since >= TimeSpan.FromSeconds(0.5), $"raised {firing.RaisedAt - firing.Since} after going above; the rule says 0.5 s");
        Assert.Null(cleared.RaisedAt);
        Assert.All(responses, r => r.Dispose());
        Assert.Contains("backpressure_alerts_raised_total{otel_scope_name=\"Backpressure\",backpressure_alert=\"request-gauge-busy\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("backpressure_alerts_active{otel_scope_name=\"Backpressure\",backpressure_alert=\"request-gauge-busy\"} 0", metrics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("check", "rules", "alerts.yml")]
    [InlineData("test", "rules", "alerts.test.yml")]
    public async Task TheShippedPrometheusRules_PassPromtool(string verb, string noun, string file)
    {
        var (exit, output, error) = await ExternalCommand.RunAsync("promtool", [verb, noun, file], workingDirectory: RepositoryFolder.Path("deploy", "prometheus"));

        Assert.True(exit == 0, $"promtool {verb} {noun} {file}: exit {exit}\n{output}{error}");
    }

    [Theory]
    [InlineData("--Backpressure:Alerts:Rules:0:Signal=queue.depth:nowhere", "Backpressure:Alerts:Rules:0:Signal")]
    [InlineData("--Backpressure:Alerts:Rules:1:Name=feed-queue-backlog", "Backpressure:Alerts:Rules:1:Name")]
    [InlineData("--Backpressure:Alerts:EvaluationInterval=00:00:00", "Backpressure:Alerts:EvaluationInterval")]
    public async Task ABadRule_StopsStartUp_NamingTheSetting(string setting, string named)
    {
        var failure = await Record.ExceptionAsync(() => RunningServer.StartAsync(setting));

        Assert.NotNull(failure);
        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
    }

    private static async Task<AlertReport> WaitForAsync(RunningServer server, string status, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        AlertReport? last = null;
        while (clock.Elapsed < patience)
        {
            AlertsReport report = (await server.Client.GetFromJsonAsync<AlertsReport>("/alerts", Json))!;
            last = report.Alerts.Single(a => a.Name == "request-gauge-busy");
            if (last.Status == status)
            {
                return last;
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException($"the alert never became {status}; last seen {last}");
    }
}
