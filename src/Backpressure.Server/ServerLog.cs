namespace Backpressure.Server;

internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Backpressure server listening on {Urls}, gRPC (h2c) on {GrpcAddress}, operations (/stats, /metrics, /alerts, /dashboard) on {Operations}; seed work {MemoryMegabytes} MiB, {CpuMilliseconds} ms CPU, {IoMilliseconds} ms I/O per call; /request holds {HoldMilliseconds} ms; gauge limits {Gauges}; memory available to the GC {AvailableMegabytes} MiB")]
    public static partial void Started(
        ILogger logger, string urls, Uri grpcAddress, string operations, int memoryMegabytes, double cpuMilliseconds, double ioMilliseconds,
        double holdMilliseconds, string gauges, long availableMegabytes);
}
