namespace Backpressure.Server.Grpc;

/// <summary>One method's calls so far, live ones included; <c>Refused</c> counts calls the call limit turned away.</summary>
public sealed record GrpcMethodStatistics(
    int Active, long Refused, long Calls, long MessagesSent, long BytesSent, long MessagesReceived, long BytesReceived, double SendWaitMilliseconds);
