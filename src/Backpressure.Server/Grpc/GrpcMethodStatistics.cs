namespace Backpressure.Server.Grpc;

/// <summary>
/// One method's calls so far, live ones included; <c>Refused</c> counts calls the call limit turned away, <c>Shed</c> calls
/// ended (the slowest readers first) to keep the server within its memory budget, and <c>LongestSendBlockedMilliseconds</c>
/// is the longest write waiting right now.
/// </summary>
public sealed record GrpcMethodStatistics(
    int Active, long Refused, long Calls, long MessagesSent, long BytesSent, long MessagesReceived, long BytesReceived, double SendWaitMilliseconds,
    long Shed, double LongestSendBlockedMilliseconds);
