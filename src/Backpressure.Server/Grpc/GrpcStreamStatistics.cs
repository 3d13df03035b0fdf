namespace Backpressure.Server.Grpc;

/// <summary>One live call.</summary>
public sealed record GrpcStreamStatistics(
    long Id, string Method, long MessagesSent, long BytesSent, long MessagesReceived, long BytesReceived, double SendWaitMilliseconds, double AgeSeconds);
