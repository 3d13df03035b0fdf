namespace Backpressure.Server.Grpc;

/// <summary>One live call: <c>SendWaitMilliseconds</c> is all its writes' waiting, the one in progress included; <c>SendBlockedMilliseconds</c> that one alone (0 when none waits).</summary>
public sealed record GrpcStreamStatistics(
    long Id, string Method, long MessagesSent, long BytesSent, long MessagesReceived, long BytesReceived, double SendWaitMilliseconds,
    double SendBlockedMilliseconds, double AgeSeconds);
