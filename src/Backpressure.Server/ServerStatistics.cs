using System.Diagnostics;
using System.Threading.RateLimiting;
using Backpressure.Server.Grpc;
using Backpressure.Server.WebSockets;

namespace Backpressure.Server;

/// <summary>The body of <c>GET /stats</c>: the seed work, every gauge, the WebSocket sessions, the gRPC calls, recent latency per policy, the process's memory, the waiting rooms, and the per-client memory budget.</summary>
public sealed record ServerStatistics(
    SeedWorkStatistics SeedWork,
    IReadOnlyDictionary<string, GaugeSnapshot> Gauges,
    WebSocketStatistics WebSockets,
    GrpcStatistics Grpc,
    IReadOnlyDictionary<string, LatencySnapshot> Latency,
    MemorySnapshot Memory,
    IReadOnlyDictionary<string, WaitingRoomSnapshot> WaitingRooms,
    MemoryBudgetSnapshot MemoryBudget)
{
    internal static ServerStatistics Capture(IServiceProvider services, IEnumerable<string> gaugeNames)
    {
        var gauges = gaugeNames.ToDictionary(
            name => name,
            name => GaugeSnapshot.From(services.GetRequiredKeyedService<PressureGauge>(name)));
        gauges[ServerApplication.Adaptive.Seed] = GaugeSnapshot.From(
            services.GetRequiredKeyedService<Backpressure.Adaptive.AdaptiveConcurrencyLimiter>(ServerApplication.Adaptive.Seed));
        using var process = Process.GetCurrentProcess();
        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        return new ServerStatistics(
            services.GetRequiredService<SeedWork>().GetStatistics(),
            gauges,
            services.GetRequiredService<WebSocketSessions>().GetStatistics(),
            services.GetRequiredService<GrpcStreams>().GetStatistics(),
            services.GetRequiredService<RecentLatencies>().GetSnapshot(),
            new MemorySnapshot(process.WorkingSet64, process.PeakWorkingSet64, gc.HeapSizeBytes, gc.TotalCommittedBytes, gc.TotalAvailableMemoryBytes),
            new Dictionary<string, WaitingRoomSnapshot>
            {
                [ServerApplication.WaitingRooms.Prioritized] = WaitingRoomSnapshot.From(
                    services.GetRequiredKeyedService<Backpressure.AspNetCore.BackpressurePolicy>(ServerApplication.WaitingRooms.Prioritized)),
            },
            MemoryBudgetSnapshot.From(services.GetRequiredService<Backpressure.Queues.QueueMemoryBudget>()));
    }
}
