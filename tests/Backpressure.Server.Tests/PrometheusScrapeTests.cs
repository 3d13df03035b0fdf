using System.Diagnostics;
using System.Text.Json;

namespace Backpressure.Server.Tests;

/// <summary>A real Prometheus (Debian's) scraping the server's <c>/metrics</c> with the shipped alert rules loaded.</summary>
[Collection(HeapMeasuringTests.Name)]
public sealed class PrometheusScrapeTests
{
    [Fact]
    public async Task ARealPrometheus_ScrapesTheCounts_AndLoadsTheShippedAlertRules()
    {
        await using var server = await RunningServer.StartAsync(
            "--Backpressure:RateLimits:fixed-window:PermitLimit=5", "--Backpressure:RateLimits:fixed-window:Window=01:00:00");
        for (int i = 0; i < 8; i++)
        {
            using HttpResponseMessage response = await server.Client.GetAsync("/limited/fixed-window");
        }

        string folder = Directory.CreateTempSubdirectory("prometheus-").FullName;
        int port = ExternalCommand.FreePort();
        await File.WriteAllTextAsync(Path.Combine(folder, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - {RepositoryFolder.Path("deploy", "prometheus", "alerts.yml")}
            scrape_configs:
              - job_name: backpressure
                static_configs:
                  - targets: ["{server.BaseAddress.Authority}"]
            """);
        using Process prometheus = StartPrometheus(folder, port);
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            string? admitted = await PollAsync(client, "/api/v1/query?query=" + Uri.EscapeDataString("backpressure_requests_total{backpressure_policy=\"fixed-window\",backpressure_outcome=\"admitted\"}"), QueryValue);
            string? refused = await PollAsync(client, "/api/v1/query?query=" + Uri.EscapeDataString("backpressure_requests_total{backpressure_policy=\"fixed-window\",backpressure_outcome=\"refused\"}"), QueryValue);
            string? rules = await PollAsync(client, "/api/v1/rules", body => RuleCount(body) > 0 ? RuleCount(body).ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
            // The series the MemoryBudgetHigh rule divides, under the names the exporter gives them.
            string? budget = await PollAsync(client, "/api/v1/query?query=" + Uri.EscapeDataString(
                "backpressure_memory_budget_used_bytes{backpressure_budget=\"per-client\"} / backpressure_memory_budget_limit_bytes{backpressure_budget=\"per-client\"}"), QueryValue);

            Assert.Equal("5", admitted);
            Assert.Equal("3", refused);
            Assert.Equal("4", rules);
            Assert.Equal("0", budget);
        }
        finally
        {
            prometheus.Kill();
            await prometheus.WaitForExitAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Process StartPrometheus(string folder, int port)
    {
        var start = new ProcessStartInfo("prometheus") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
        foreach (string arg in new[]
        {
            $"--config.file={Path.Combine(folder, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(folder, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
        })
        {
            start.ArgumentList.Add(arg);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start; run scripts/bootstrap.sh prometheus");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Asks until <paramref name="read"/> finds an answer, for at most 30 s.</summary>
    private static async Task<string?> PollAsync(HttpClient client, string path, Func<JsonElement, string?> read)
    {
        for (int i = 0; i < 150; i++)
        {
            try
            {
                using JsonDocument body = JsonDocument.Parse(await client.GetStringAsync(path));
                if (read(body.RootElement) is { } answer)
                {
                    return answer;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        return null;
    }

    private static string? QueryValue(JsonElement body) =>
        body.GetProperty("data").GetProperty("result") is { ValueKind: JsonValueKind.Array } result && result.GetArrayLength() == 1
            ? result[0].GetProperty("value")[1].GetString()
            : null;

    private static int RuleCount(JsonElement body) =>
        body.GetProperty("data").GetProperty("groups").EnumerateArray().Sum(g => g.GetProperty("rules").GetArrayLength());
}
