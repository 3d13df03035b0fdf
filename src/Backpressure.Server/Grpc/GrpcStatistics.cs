namespace Backpressure.Server.Grpc;

/// <summary>The <c>grpc</c> part of <c>/stats</c>: totals per method and the live calls that waited longest on flow control.</summary>
public sealed record GrpcStatistics(
    IReadOnlyDictionary<string, GrpcMethodStatistics> Methods,
    IReadOnlyList<GrpcStreamStatistics> LongestWaiting);
