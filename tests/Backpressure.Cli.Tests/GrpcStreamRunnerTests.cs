using Backpressure.Cli.Grpc;

namespace Backpressure.Cli.Tests;

public sealed class GrpcStreamRunnerTests
{
    [Fact]
    public async Task Subscribe_ASlowReaderSeesEveryMessage_AndTheServersWritesWaitOnItsWindow()
    {
        await using var server = await RunningServer.StartAsync();
        var settings = new GrpcRunSettings
        {
            Address = server.GrpcAddress,
            Call = GrpcCall.Subscribe,
            ReadDelay = TimeSpan.FromMilliseconds(20),
            WindowBytes = 65_535,
            Duration = TimeSpan.FromSeconds(2),
        };

        // A cold process's first call spends a good part of its two seconds setting up; the claim is about a warm one.
        await new GrpcStreamRunner(settings with { Duration = TimeSpan.FromSeconds(0.5) }, TimeProvider.System).RunAsync(CancellationToken.None);
        GrpcStreamResult result = (await new GrpcStreamRunner(settings, TimeProvider.System).RunAsync(CancellationToken.None)).Single();

        Assert.True(result.Status == "Cancelled", $"the call ended {result}");
        Assert.InRange(result.Messages, 10, 100);
        Assert.Equal(0, result.Gaps);
        Assert.True(result.SenderWaited > TimeSpan.FromSeconds(0.5), $"the server's writes waited only {result.SenderWaited}");
        Assert.True(result.AgeP50Milliseconds > 20, "messages queue in the window behind a slow reader, so they are older than one read delay when read");
    }

    [Fact]
    public async Task Upload_TheServerReadsEveryMessageWritten_AndOurWritesWaitOnItsWindow()
    {
        await using var server = await RunningServer.StartAsync("--Backpressure:Grpc:ConsumeRate=100", "--Backpressure:Grpc:InitialStreamWindowSize=65535");
        var settings = new GrpcRunSettings { Address = server.GrpcAddress, Call = GrpcCall.Upload, Duration = TimeSpan.FromSeconds(2) };

        // As above: a cold process's first call spends part of its two seconds setting up (94 messages in one CI run).
        await new GrpcStreamRunner(settings with { Duration = TimeSpan.FromSeconds(0.5) }, TimeProvider.System).RunAsync(CancellationToken.None);
        GrpcStreamResult result = (await new GrpcStreamRunner(settings, TimeProvider.System).RunAsync(CancellationToken.None)).Single();

        Assert.Equal("OK", result.Status);
        Assert.Equal(result.Messages, result.ServerReceived);
        Assert.InRange(result.Messages, 100, 2 * 100 + 20);
        Assert.True(result.SenderWaited > TimeSpan.FromSeconds(1), $"our writes waited only {result.SenderWaited}");
    }

    [Fact]
    public async Task MoreStreamsThanTheServerAllows_AreRefusedWithResourceExhausted_WithoutAPushbackEstimate()
    {
        await using var server = await RunningServer.StartAsync(
            "--Backpressure:Grpc:MaxConcurrentCallsPerMethod=3", "--Backpressure:Grpc:MaxConcurrentCallsPerClient=3");
        var settings = new GrpcRunSettings
        {
            Address = server.GrpcAddress,
            Call = GrpcCall.Subscribe,
            Streams = 5,
            PayloadBytes = 64,
            ReadDelay = TimeSpan.FromMilliseconds(10),
            Duration = TimeSpan.FromSeconds(1),
        };

        var results = await new GrpcStreamRunner(settings, TimeProvider.System).RunAsync(CancellationToken.None);

        Assert.Equal(3, results.Count(r => r.Status == "Cancelled"));
        var refused = results.Where(r => r.Status == "ResourceExhausted").ToList();
        Assert.Equal(2, refused.Count);
        // How long the held streams last is their clients' choice: no pushback is estimated for them.
        Assert.All(refused, r => Assert.Null(r.PushbackMilliseconds));
    }
}
