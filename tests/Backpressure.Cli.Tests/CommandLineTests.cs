using System.Text.Json;

namespace Backpressure.Cli.Tests;

/// <summary>The real <c>bp</c> executable, started as a process.</summary>
public sealed class CommandLineTests
{
    [Theory]
    [InlineData("load http://127.0.0.1:1/ --bogus", "--bogus")]
    [InlineData("load http://127.0.0.1:1/ -n -5", "-n must be at least 1")]
    [InlineData("load http://127.0.0.1:1/ -c 0", "-c must be at least 1")]
    [InlineData("load not-a-url", "malformed URL 'not-a-url'")]
    [InlineData("load ftp://example/ ", "malformed URL")]
    [InlineData("load http://127.0.0.1:1/ -H NoColon", "malformed header 'NoColon'")]
    [InlineData("load http://127.0.0.1:1/ -z soon", "malformed duration 'soon'")]
    [InlineData("load http://127.0.0.1:1/ --warmup 0s", "malformed duration '0s'")]
    [InlineData("load http://127.0.0.1:1/ -n 5 -c 10", "-n cannot be less than -c")]
    [InlineData("demo --memory-limit 0", "--memory-limit must be at least 1")]
    [InlineData("load http://127.0.0.1:1/ --rate 10 --retry-after", "--rate cannot be combined with --retry-after")]
    [InlineData("load http://127.0.0.1:1/ --rate -1", "--rate must be zero or more")]
    [InlineData("load http://127.0.0.1:1/ --mix critical", "malformed --mix 'critical': expected name=weight pairs")]
    [InlineData("load http://127.0.0.1:1/ --mix critical=0", "each weight a whole number from 1 to 1000000")]
    [InlineData("load http://127.0.0.1:1/ --mix a=1,a=2", "'a' is named twice")]
    [InlineData("load http://127.0.0.1:1/ --mix-header X:Y", "malformed --mix-header 'X:Y'")]
    [InlineData("load http://127.0.0.1:1/ --users -1", "--users must be at least 0")]
    [InlineData("load http://127.0.0.1:1/ --client-retries 11", "--client-retries must be from 0 to 10")]
    [InlineData("grpc subscribe http://127.0.0.1:1 --window 1KB", "--window: '1KB' is not a size from 65535")]
    [InlineData("grpc subscribe http://127.0.0.1:1 --size lots", "--size: 'lots' is not a size")]
    [InlineData("grpc upload ws://127.0.0.1:1", "malformed address 'ws://127.0.0.1:1'")]
    [InlineData("grpc upload http://127.0.0.1:1 --read-delay 5ms", "--read-delay")]
    [InlineData("load http://127.0.0.1:1/ -c 5 -c 6", "Option '-c' expects a single argument but 2 were provided")]
    [InlineData("load http://127.0.0.1:1/ -c lots", "Cannot parse argument 'lots' for option '-c'")]
    [InlineData("load http://127.0.0.1:1/ --rate fast --retry-after", "Cannot parse argument 'fast' for option '--rate'")]
    [InlineData("load http://127.0.0.1:1/ --client-retries many", "Cannot parse argument 'many' for option '--client-retries'")]
    [InlineData("demo --gauge-limit ten", "Cannot parse argument 'ten' for option '--gauge-limit'")]
    [InlineData("demo --endpoints /limited", "malformed --endpoints '/limited': expected one or more of /sync, /async, /backpressure, /adaptive")]
    [InlineData("demo --endpoints /async,/async", "each at most once")]
    [InlineData("demo --endpoints ,", "malformed --endpoints ','")]
    [InlineData("ws ws://127.0.0.1:1/ -c x", "Cannot parse argument 'x' for option '-c'")]
    [InlineData("grpc subscribe http://127.0.0.1:1 -c x", "Run 'bp grpc subscribe --help' for usage")]
    public async Task BadArguments_PrintAClearMessageAndExitNonZero_WithoutAStackTrace(string args, string expected)
    {
        var (exit, output, error) = await RunBp(args.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.NotEqual(0, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error + output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_AgainstAServer_PrintsHeysSummary()
    {
        await using var server = await RunningServer.StartAsync();

        var (exit, output, _) = await RunBp(["load", server.Url("/overhead/bare").ToString(), "-n", "20", "-c", "4"]);

        Assert.Equal(0, exit);
        Assert.Contains("Summary:", output, StringComparison.Ordinal);
        Assert.Contains("[200]\t20 responses", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcSubscribe_AgainstAServer_PrintsWhatFlowControlDid()
    {
        await using var server = await RunningServer.StartAsync();

        var (exit, output, _) = await RunBp(["grpc", "subscribe", server.GrpcAddress.ToString(), "-z", "1s", "--read-delay", "20ms", "--window", "64KB"]);

        Assert.Equal(0, exit);
        Assert.Contains("1 ran, 0 refused", output, StringComparison.Ordinal);
        Assert.Contains("server's writes waited", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_WithEndpoints_DrivesOnlyThoseInTheOrderGiven()
    {
        var (exit, output, error) = await RunBp(
            ["demo", "--endpoints", "/backpressure,/async", "-z", "1s", "-c", "4", "--memory-limit", "64", "--memory-per-call", "4", "--io-time", "100ms", "-o", "json"]);

        Assert.True(exit == 0, error);
        string[] driven = [.. JsonDocument.Parse(output).RootElement.EnumerateArray().Select(row => row.GetProperty("endpoint").GetString()!)];
        Assert.Equal(["/backpressure", "/async"], driven);
    }

    // bp runs from its own build folder: the copy in this project's folder has bp's dependency list but not every
    // package it names, since this project takes those assemblies from the shared ASP.NET Core framework instead.
    private static string BpPath => Path.Combine(
        AppContext.BaseDirectory.Replace(
            Path.Combine("tests", "Backpressure.Cli.Tests"), Path.Combine("src", "Backpressure.Cli"), StringComparison.Ordinal),
        "bp.dll");

    private static Task<(int Exit, string Output, string Error)> RunBp(string[] args) => ExternalCommand.RunAsync("dotnet", [BpPath, .. args]);
}
