using Backpressure.Client;

namespace Backpressure.Grpc;

/// <summary>
/// Options of a <see cref="ClientBackpressureInterceptor"/>: the throttle and retries every client adapter has, and what
/// to do while a <c>grpc-retry-pushback-ms</c> lasts. Validated once, when the interceptor is constructed.
/// </summary>
public sealed class GrpcClientBackpressureOptions : ClientBackpressureOptions
{
    /// <summary>While a <c>grpc-retry-pushback-ms</c> lasts: true (the default) fails new unary calls at once with <c>RESOURCE_EXHAUSTED</c>; false holds them until it ends.</summary>
    public bool FailFastWhilePushedBack { get; set; } = true;
}
