using System.Threading.RateLimiting;
using Backpressure.Admission;
using Grpc.Core;

namespace Backpressure.Grpc;

/// <summary>
/// A server interceptor that admits each call through a <see cref="WaitingRoom{TResource}"/>: a call that finds the
/// limit full waits (bounded by time), the more critical first; a call whose <c>grpc-timeout</c> cannot be met is
/// refused at once; under sustained overload the least critical are shed. A refusal is <c>RESOURCE_EXHAUSTED</c> with
/// <c>grpc-retry-pushback-ms</c> and <c>backpressure-shed</c> (the criticality shed and why). The permit is held for the
/// whole call and returned exactly once, however it ends.
/// </summary>
public sealed class WaitingRoomInterceptor : CallLimitingInterceptor, IDisposable
{
    private readonly WaitingRoom<ServerCallContext> _room;
    private readonly GrpcWaitingRoomOptions _options;

    /// <summary>Creates the interceptor over a room it owns.</summary>
    /// <param name="limiter">The limit calls count against; the room becomes its owner.</param>
    /// <param name="options">Where a call's criticality, cohort and deadline come from; validated here.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null.</param>
    public WaitingRoomInterceptor(RateLimiter limiter, GrpcWaitingRoomOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        TimeProvider time = timeProvider ?? TimeProvider.System;
        _room = new WaitingRoom<ServerCallContext>(limiter, context => Describe(context, time), options.Room, time);
    }

    /// <summary>The room, for its counts and threshold.</summary>
    public WaitingRoom<ServerCallContext> Room => _room;

    /// <summary>Disposes the room (its timers and the limiter), refusing whoever waits; the container does so when the host stops.</summary>
    public void Dispose() => _room.Dispose();

    /// <inheritdoc />
    protected override async ValueTask<RateLimitLease> AcquireAsync(ServerCallContext context, bool streaming)
    {
        if (_options.CriticalityKey is { } key && context.RequestHeaders.GetValue(key) is { Length: > 0 } value
            && AdmissionNames.ParseCriticality(value) is null)
        {
            throw new RpcException(new Status(
                StatusCode.InvalidArgument, $"{key} must be critical, normal, sheddable or batch (was '{(value.Length <= 40 ? value : value[..40] + "…")}')"));
        }

        RateLimitLease lease = await _room.AcquireAsync(context, 1, context.CancellationToken).ConfigureAwait(false);
        if (lease.IsAcquired)
        {
            return lease;
        }

        using (lease)
        {
            throw GrpcRefusal.For(context.Method, lease, streaming);
        }
    }

    private AdmissionRequest Describe(ServerCallContext context, TimeProvider time)
    {
        Criticality criticality = _options.MethodCriticality.TryGetValue(context.Method, out Criticality ofMethod) ? ofMethod : _options.DefaultCriticality;
        if (_options.CriticalityKey is { } key && AdmissionNames.ParseCriticality(context.RequestHeaders.GetValue(key)) is { } claimed)
        {
            criticality = claimed;
        }

        int cohort = _options.CohortKey is { } cohortKey && context.RequestHeaders.GetValue(cohortKey) is { Length: > 0 } user
            ? AdmissionPriority.CohortOf(user)
            : AdmissionPriority.CohortOf(AddressOf(context.Peer));
        TimeSpan? deadline = _options.HonourDeadline && context.Deadline != DateTime.MaxValue
            ? context.Deadline - time.GetUtcNow().UtcDateTime
            : null;
        return new AdmissionRequest(new AdmissionPriority(criticality, cohort), deadline);
    }

    /// <summary>The address of a peer such as <c>ipv4:127.0.0.1:5000</c> or <c>ipv6:[::1]:5000</c>, without its port: one cohort per client host.</summary>
    private static ReadOnlySpan<char> AddressOf(string peer)
    {
        int port = peer.LastIndexOf(':');
        return port > peer.IndexOf(':') ? peer.AsSpan(0, port) : peer;
    }
}
