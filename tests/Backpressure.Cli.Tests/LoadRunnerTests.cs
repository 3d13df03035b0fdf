using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Backpressure.Cli.Load;
using Backpressure.Server;

namespace Backpressure.Cli.Tests;

public sealed class LoadRunnerTests
{
    private static Task<LoadResult> Run(LoadSettings settings) => new LoadRunner(settings, TimeProvider.System).RunAsync();

    // The client-side tests' server: /backpressure admits one 200 ms call at a time, so most calls are refused.
    private static Task<RunningServer> StartWithAGaugeOfOneAsync() => RunningServer.StartAsync(
        "--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:IoTime=00:00:00.200",
        "--Backpressure:Gauges:backpressure:PermitLimit=1");

    [Fact]
    public async Task Load_CountsEveryRequestOnce_AndAgreesWithWhatTheServerCounted()
    {
        await using var server = await RunningServer.StartAsync(
            "--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:IoTime=00:00:00.200",
            "--Backpressure:Gauges:backpressure:PermitLimit=3");

        var result = await Run(new LoadSettings { Url = server.Url("/backpressure"), Requests = 61, Concurrency = 12 });

        var gauge = server.GaugeStatistics(ServerApplication.Gauges.Backpressure);
        Assert.Equal(61, result.Succeeded + result.Refused + result.ErrorCount + result.Timeouts);
        Assert.Equal(61, result.Requests);
        Assert.Equal(gauge.Accepted, result.Succeeded);
        Assert.Equal(gauge.Refused, result.Refused);
        Assert.True(result.Refused > 0, "a limit of 3 under 12 workers refuses some calls");
        Assert.Equal(result.Refused, result.Refusals.Count);
    }

    [Fact]
    public async Task Load_WithADuration_StopsOnTime()
    {
        await using var server = await RunningServer.StartAsync();

        var result = await Run(new LoadSettings
        {
            Url = server.Url("/overhead/bare"), Concurrency = 4, Duration = TimeSpan.FromSeconds(1.5),
        });

        // Timers may fire a millisecond or two early against the timestamp clock.
        Assert.InRange(result.Total, TimeSpan.FromSeconds(1.45), TimeSpan.FromSeconds(4));
        Assert.True(result.Succeeded > 0);
        Assert.Equal(result.Requests, result.Succeeded);
    }

    [Fact]
    public async Task Load_WithARatePerWorker_SendsNoFasterThanThatRate()
    {
        await using var server = await RunningServer.StartAsync();

        var result = await Run(new LoadSettings
        {
            Url = server.Url("/overhead/bare"), Requests = 20, Concurrency = 2, RatePerWorker = 10,
        });

        // Each worker sends 10 requests at 10/s: the last leaves 0.9 s after the first.
        Assert.Equal(20, result.Succeeded);
        Assert.True(result.Total >= TimeSpan.FromSeconds(0.85), $"took {result.Total}");
    }

    [Fact]
    public async Task RetryAfter_RetriesExactlyTheRefusedCalls_AfterTheMillisecondsTheServerAsked()
    {
        await using var server = await RunningServer.StartAsync(
            "--SeedRequest:HoldTime=00:00:00.800", "--Backpressure:Gauges:request:PermitLimit=2",
            "--Backpressure:Gauges:request:InitialHoldTimeEstimate=00:00:00.800");

        var result = await Run(new LoadSettings
        {
            Url = server.Url("/request"), Requests = 6, Concurrency = 6, RetryAfter = true,
        });

        var gauge = server.GaugeStatistics(ServerApplication.Gauges.Request);
        Assert.Equal(6, result.Succeeded);
        Assert.Equal(0, result.Refused);
        Assert.Equal(gauge.Refused, result.Retries);
        Assert.True(result.Retries >= 4, $"only {result.Retries} retries");

        // Permits held 0.8 s, so the gauge's waits are fractions of a second: read from Retry-After-Ms, not rounded up to
        // Retry-After's whole second each.
        Assert.True(result.RetryWait > TimeSpan.Zero && result.RetryWait < TimeSpan.FromSeconds(result.Retries), $"waited {result.RetryWait} over {result.Retries} retries");
    }

    [Fact]
    public async Task RetryAfter_AgainstARateLimitedEndpoint_GetsEveryCallThroughByWaitingAsTold()
    {
        await using var server = await RunningServer.StartAsync(
            "--Backpressure:RateLimits:token-bucket:TokenLimit=2", "--Backpressure:RateLimits:token-bucket:TokensPerPeriod=2",
            "--Backpressure:RateLimits:token-bucket:ReplenishmentPeriod=00:00:01");

        var result = await Run(new LoadSettings
        {
            Url = server.Url("/limited/token-bucket"), Requests = 6, Concurrency = 3, RetryAfter = true,
        });

        // Two tokens at once, then two a second: the last call can pass two seconds in. The third call of the
        // first wave and the next two (sent at once by the workers the first two freed) find the bucket empty;
        // how many of the later retries are refused again depends on when each worker comes back.
        Assert.Equal(6, result.Succeeded);
        Assert.True(result.Retries >= 3, $"only {result.Retries} retries");
        Assert.True(result.Total >= TimeSpan.FromSeconds(1.9), $"took {result.Total}");
    }

    [Fact]
    public async Task Load_WhenTheServerIsTooSlow_CountsTimeouts()
    {
        await using var server = await RunningServer.StartAsync("--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:IoTime=00:00:10");

        var result = await Run(new LoadSettings
        {
            Url = server.Url("/async"), Requests = 2, Concurrency = 2, Timeout = TimeSpan.FromMilliseconds(300),
        });

        Assert.Equal(2, result.Timeouts);
        Assert.Equal(2, result.Requests);
    }

    [Fact]
    public async Task Load_WhenTheServersAcceptQueueIsFull_CountsConnectTimeoutsAsTimeouts_InBothLoops()
    {
        // Listening but never accepting: past the backlog the kernel drops the handshakes, so
        // connecting takes until the handler's ConnectTimeout, which cancels rather than throws.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(1);
        var url = new Uri($"http://127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}/");
        var timeout = TimeSpan.FromMilliseconds(300);

        var closed = await Run(new LoadSettings { Url = url, Requests = 24, Concurrency = 24, Timeout = timeout });
        var open = await Run(new LoadSettings { Url = url, Requests = 24, Concurrency = 24, Rate = 200, Timeout = timeout });

        Assert.Equal(24, closed.Timeouts);
        Assert.Equal(24, open.Timeouts);
    }

    [Fact]
    public async Task Load_WhenNothingListens_CountsConnectionErrorsByKind()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await Run(new LoadSettings { Url = new Uri($"http://127.0.0.1:{port}/"), Requests = 3, Concurrency = 1 });

        var (kind, count) = Assert.Single(result.Errors);
        Assert.Equal(3, count);
        Assert.Contains("ConnectionRefused", kind, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenLoopRate_SendsOnAFixedSchedule()
    {
        await using var server = await RunningServer.StartAsync();

        var result = await Run(new LoadSettings { Url = server.Url("/overhead/bare"), Requests = 20, Concurrency = 4, Rate = 20 });

        // Twenty requests at 20/s: the last is due 0.95 s after the first.
        Assert.Equal(20, result.Succeeded);
        Assert.InRange(result.Total, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task OpenLoopRate_MeasuresLatencyFromTheDueTime_SoQueueingShows()
    {
        // One connection to a 200 ms endpoint offered 20 requests/s: the server finishes one every
        // 200 ms while they fall due every 50 ms, so the later requests wait in line. A closed loop
        // would report 200 ms for each; the open loop reports the wait.
        await using var server = await RunningServer.StartAsync(
            "--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:CpuTime=00:00:00", "--SeedWork:IoTime=00:00:00.200");

        using (await server.Client.GetAsync("/async"))
        {
            // A first call pays for start-up; the schedule below should not.
        }

        var result = await Run(new LoadSettings { Url = server.Url("/async"), Requests = 10, Concurrency = 1, Rate = 20 });

        // The last waits about 10 × 200 ms − 9 × 50 ms = 1.55 s, the first about 0.2 s.
        Assert.Equal(10, result.Succeeded);
        Assert.True(result.Successes.Slowest >= TimeSpan.FromSeconds(1.2), $"slowest {result.Successes.Slowest}");
        Assert.True(result.Successes.Slowest - result.Successes.Fastest >= TimeSpan.FromSeconds(0.8), $"fastest {result.Successes.Fastest}, slowest {result.Successes.Slowest}");
    }

    [Fact]
    public async Task OpenLoopRate_WithAWarmup_SendsItsRequestsButCountsOnlyThoseDueAfterIt()
    {
        await using var server = await RunningServer.StartAsync();

        var result = await Run(new LoadSettings
        {
            Url = server.Url("/overhead/gauge"), Requests = 10, Concurrency = 4, Rate = 20, Warmup = TimeSpan.FromSeconds(0.5),
        });

        // 0.5 s at 20/s is ten warm-up requests before the ten counted ones, whose schedule spans 0.5 s.
        Assert.Equal(20, server.GaugeStatistics(ServerApplication.Gauges.Overhead).Accepted);
        Assert.Equal(10, result.Requests);
        Assert.Equal(10, result.Succeeded);
        Assert.Equal(TimeSpan.FromSeconds(0.5), result.Window);
        Assert.Equal(20, result.Goodput, precision: 6);
    }

    [Fact]
    public async Task ClosedLoop_WithAWarmup_RunsItBeforeTheDuration_AndLeavesItOutOfTheRates()
    {
        await using var server = await RunningServer.StartAsync();

        var result = await Run(new LoadSettings
        {
            Url = server.Url("/overhead/gauge"), Concurrency = 2, Duration = TimeSpan.FromSeconds(1), Warmup = TimeSpan.FromSeconds(0.5),
        });

        long sent = server.GaugeStatistics(ServerApplication.Gauges.Overhead).Accepted;
        Assert.InRange(result.Total, TimeSpan.FromSeconds(1.45), TimeSpan.FromSeconds(5));
        Assert.Equal(result.Total - TimeSpan.FromSeconds(0.5), result.Window);
        Assert.True(result.Succeeded > 0 && sent > result.Succeeded, $"counted {result.Succeeded} of {sent} sent");
        Assert.Equal(result.Succeeded / result.Window.TotalSeconds, result.Goodput, precision: 6);
    }

    [Fact]
    public async Task OpenLoopRate_NeverSendsARequestBeforeItIsDue_AndRecordsHowLateEachLeft()
    {
        await using var server = await RunningServer.StartAsync();

        var result = await Run(new LoadSettings { Url = server.Url("/overhead/bare"), Requests = 50, Concurrency = 4, Rate = 100 });

        Assert.Equal(50, result.SendLag.Count);
        Assert.True(result.SendLag.Fastest >= TimeSpan.Zero, $"a request left {-result.SendLag.Fastest} early");
    }

    [Fact]
    public async Task JsonReport_ParsesAndCarriesTheCounts()
    {
        await using var server = await RunningServer.StartAsync();
        var result = await Run(new LoadSettings { Url = server.Url("/overhead/bare"), Requests = 10, Concurrency = 2 });

        using var json = JsonDocument.Parse(LoadReport.ToJson(result));

        Assert.Equal(10, json.RootElement.GetProperty("requests").GetInt64());
        Assert.Equal(10, json.RootElement.GetProperty("status_codes").GetProperty("200").GetInt64());
        Assert.True(json.RootElement.GetProperty("latency").GetProperty("percentiles").GetProperty("p99").GetDouble() > 0);
    }

    [Fact]
    public async Task TextReport_HasHeysSections()
    {
        await using var server = await RunningServer.StartAsync();
        var result = await Run(new LoadSettings { Url = server.Url("/overhead/bare"), Requests = 10, Concurrency = 2 });

        string text = LoadReport.ToText(result);

        foreach (string section in new[] { "Summary:", "Requests/sec:", "Response time histogram:", "Latency distribution:", "99% in", "Status code distribution:", "[200]\t10 responses" })
        {
            Assert.Contains(section, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Load_WithAPriorityMix_ReportsEachPriorityApart_AndAgreesWithWhatTheWaitingRoomCounted()
    {
        await using var server = await RunningServer.StartAsync("--SeedWork:MemoryPerCallMegabytes=1", "--SeedWork:IoTime=00:00:00.050");

        var result = await Run(new LoadSettings
        {
            Url = server.Url("/prioritized"), Requests = 200, Concurrency = 20,
            Mix = [KeyValuePair.Create("critical", 1), KeyValuePair.Create("batch", 3)], Users = 100,
        });

        var room = (Backpressure.Admission.WaitingRoom<Microsoft.AspNetCore.Http.HttpContext>)Microsoft.Extensions.DependencyInjection.ServiceProviderKeyedServiceExtensions
            .GetRequiredKeyedService<Backpressure.AspNetCore.BackpressurePolicy>(server.App.Services, ServerApplication.WaitingRooms.Prioritized).Limiter;
        Assert.Equal(["batch", "critical"], result.ByPriority.Keys);
        Assert.Equal(200, result.ByPriority.Values.Sum(p => p.Requests));
        Assert.True(result.ByPriority["batch"].Requests > result.ByPriority["critical"].Requests, "batch is weighted three to one");
        Assert.Equal(room.GetCounts(Backpressure.Admission.Criticality.Critical).Admitted, result.ByPriority["critical"].Succeeded);
        Assert.Equal(room.GetCounts(Backpressure.Admission.Criticality.Batch).Admitted, result.ByPriority["batch"].Succeeded);
        Assert.Equal(room.GetCounts(Backpressure.Admission.Criticality.Batch).Shed, result.ByPriority["batch"].Refused);
        Assert.Equal(result.Window, result.ByPriority["critical"].Window);
    }

    [Fact]
    public async Task Load_WithTheClientThrottle_KeepsRefusedCallsFromTheServer_AndCountsThemApart()
    {
        await using var server = await StartWithAGaugeOfOneAsync();

        var result = await Run(new LoadSettings { Url = server.Url("/backpressure"), Requests = 80, Concurrency = 20, ClientThrottle = true });

        var gauge = server.GaugeStatistics(ServerApplication.Gauges.Backpressure);
        Assert.Equal(80, result.Requests);
        Assert.True(result.LocallyRefused > 0, "the throttle refused nothing though the server refused most calls");
        Assert.Equal(result.Requests - result.LocallyRefused, gauge.Accepted + gauge.Refused);
        Assert.Equal(gauge.Accepted, result.Succeeded);
    }

    [Fact]
    public async Task Load_WithTheClientThrottle_ForADuration_WaitsOutItsOwnRefusals_InsteadOfSpinning()
    {
        await using var server = await StartWithAGaugeOfOneAsync();

        var result = await Run(new LoadSettings
        {
            Url = server.Url("/backpressure"), Concurrency = 10, Duration = TimeSpan.FromSeconds(3), ClientThrottle = true,
        });

        // Each local refusal says when to come back (the server's last wait, to the millisecond, or a second), and the
        // worker waits it out: at most one per worker per millisecond, the least a refusal can name (one run counted 123
        // in all). A worker that called again at once spun through millions of
        // them, starving the thread pool, and the throttle, counting them, refused for good: the run then overran its
        // time and the one admitted call timed out.
        var gauge = server.GaugeStatistics(ServerApplication.Gauges.Backpressure);
        string seen = $"{result.Succeeded} served, {result.LocallyRefused} refused locally, {result.Timeouts} timed out, in {result.Total}";
        Assert.InRange(result.LocallyRefused, 1, 10 * 3_000);
        Assert.True(result.Succeeded >= 1 && result.Succeeded == gauge.Accepted, seen);
        Assert.Equal(0, result.Timeouts);
        Assert.InRange(result.Total, TimeSpan.FromSeconds(2.9), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Load_WithClientRetries_CountsEveryRequestSent_BlindRetriesMultiplyThem_AndTheBudgetDoesNot()
    {
        await using var server = await StartWithAGaugeOfOneAsync();
        var settings = new LoadSettings { Url = server.Url("/backpressure"), Requests = 50, Concurrency = 10, ClientRetries = 3 };

        var blind = await Run(settings);
        var before = server.GaugeStatistics(ServerApplication.Gauges.Backpressure);
        var budgeted = await Run(settings with { ClientThrottle = true });
        var after = server.GaugeStatistics(ServerApplication.Gauges.Backpressure);

        Assert.Equal(before.Accepted + before.Refused, blind.Sent);
        Assert.Equal((after.Accepted + after.Refused) - (before.Accepted + before.Refused), budgeted.Sent);
        Assert.True(blind.Sent > 2 * blind.Requests, $"blind retries sent {blind.Sent} requests for {blind.Requests} calls");
        Assert.True(budgeted.Sent <= 1.1 * budgeted.Requests + 10, $"budgeted retries sent {budgeted.Sent} requests for {budgeted.Requests} calls");
    }
}
