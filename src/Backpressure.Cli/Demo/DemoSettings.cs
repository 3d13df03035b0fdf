namespace Backpressure.Cli.Demo;

/// <summary>How <c>bp demo</c> runs: the server's memory limit and work, and the load each endpoint gets.</summary>
internal sealed record DemoSettings
{
    /// <summary>The server's GC heap hard limit, in mebibytes (the seed's <c>docker run --memory=200m</c>).</summary>
    public int MemoryLimitMegabytes { get; init; } = 200;

    /// <summary>Concurrent clients driving each endpoint.</summary>
    public int Concurrency { get; init; } = 50;

    /// <summary>How long each endpoint is driven.</summary>
    public TimeSpan DurationPerEndpoint { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long one request may take before it counts as a timeout.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Memory each call allocates and touches, in mebibytes.</summary>
    public int MemoryPerCallMegabytes { get; init; } = 8;

    /// <summary>CPU time per call.</summary>
    public TimeSpan CpuTime { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>I/O wait per call.</summary>
    public TimeSpan IoTime { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Whether the clients retry a 429 after the wait the server asked for (as <c>bp load --retry-after</c>), rather than
    /// sending again at once as hey does: the producer controlled, as backpressure intends.
    /// </summary>
    public bool RetryAfter { get; init; }

    /// <summary>The pressure gauge's limit on <c>/backpressure</c>.</summary>
    public int GaugeLimit { get; init; } = 10;

    /// <summary>The server's entry assembly; by default the one shipped beside <c>bp</c>.</summary>
    public string ServerPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "Backpressure.Server.dll");

    /// <summary>The endpoints driven, in order.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = ["/sync", "/async", "/backpressure", "/adaptive"];
}
