using System.Threading.RateLimiting;
using Backpressure.Partitioning;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Backpressure.Grpc;

/// <summary>Puts a gRPC server's methods behind Backpressure's limits.</summary>
public static class BackpressureGrpcServerBuilderExtensions
{
    /// <summary>
    /// Gives every method its own <see cref="PressureGauge"/> of
    /// <see cref="GrpcMethodLimitOptions.MaxConcurrentCallsPerMethod"/> permits, enforced by a
    /// <see cref="BackpressureInterceptor"/> (the limiter is registered as the
    /// <see cref="PartitionedRateLimiter{TResource}"/> of method names, for statistics).
    /// </summary>
    /// <param name="builder">The builder <c>services.AddGrpc()</c> returned.</param>
    /// <param name="configure">Sets the limit.</param>
    public static IGrpcServerBuilder AddBackpressure(this IGrpcServerBuilder builder, Action<GrpcMethodLimitOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return builder.AddBackpressure(options => options.Configure(configure));
    }

    /// <summary>As <see cref="AddBackpressure(IGrpcServerBuilder, Action{GrpcMethodLimitOptions})"/>, with the options bound from <paramref name="configuration"/>.</summary>
    /// <param name="builder">The builder <c>services.AddGrpc()</c> returned.</param>
    /// <param name="configuration">The section holding <see cref="GrpcMethodLimitOptions"/>.</param>
    public static IGrpcServerBuilder AddBackpressure(this IGrpcServerBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddBackpressure(options => options.Bind(configuration));
    }

    /// <summary>
    /// Admits every call through a waiting room in front of <paramref name="limiter"/> (an adaptive limit, a gauge): see
    /// <see cref="WaitingRoomInterceptor"/>. Options are validated when the host starts.
    /// </summary>
    /// <param name="builder">The builder <c>services.AddGrpc()</c> returned.</param>
    /// <param name="limiter">Creates the limit calls count against; the room owns it.</param>
    /// <param name="configure">Sets where criticality, cohort and deadline come from, and the queue.</param>
    public static IGrpcServerBuilder AddWaitingRoom(
        this IGrpcServerBuilder builder, Func<IServiceProvider, RateLimiter> limiter, Action<GrpcWaitingRoomOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(limiter);
        IServiceCollection services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IValidateOptions<GrpcWaitingRoomOptions>>(
            new OptionsValidator<GrpcWaitingRoomOptions>("gRPC waiting room", null, static o => o.Validate()));
        OptionsBuilder<GrpcWaitingRoomOptions> options = services.AddOptions<GrpcWaitingRoomOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(sp => new WaitingRoomInterceptor(
            limiter(sp), sp.GetRequiredService<IOptions<GrpcWaitingRoomOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.Configure<GrpcServiceOptions>(o =>
        {
            if (!o.Interceptors.Any(i => i.Type == typeof(WaitingRoomInterceptor)))
            {
                o.Interceptors.Add<WaitingRoomInterceptor>();
            }
        });
        return builder;
    }

    private static IGrpcServerBuilder AddBackpressure(this IGrpcServerBuilder builder, Action<OptionsBuilder<GrpcMethodLimitOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IValidateOptions<GrpcMethodLimitOptions>>(
            new OptionsValidator<GrpcMethodLimitOptions>("gRPC method limits", null, static o => o.Validate()));
        configure(services.AddOptions<GrpcMethodLimitOptions>().ValidateOnStart());
        services.TryAddSingleton<PartitionedRateLimiter<string>>(sp =>
        {
            int limit = sp.GetRequiredService<IOptions<GrpcMethodLimitOptions>>().Value.MaxConcurrentCallsPerMethod;
            TimeProvider time = sp.GetRequiredService<TimeProvider>();

            // Only methods the server maps reach an interceptor, so the partitions are bounded by the service's
            // own methods; the bound is a second line.
            return new BoundedPartitionedRateLimiter<string>(
                static method => method, _ => new PressureGauge(new PressureGaugeOptions { PermitLimit = limit }, time));
        });
        services.TryAddSingleton(sp =>
        {
            GrpcMethodLimitOptions options = sp.GetRequiredService<IOptions<GrpcMethodLimitOptions>>().Value;
            return new GrpcClientShares(options.EffectiveCallsPerClient, options.MaxClients, options.ClientIdMetadata);
        });
        services.TryAddSingleton(sp => new BackpressureInterceptor(
            sp.GetRequiredService<PartitionedRateLimiter<string>>(), sp.GetRequiredService<GrpcClientShares>()));
        services.Configure<GrpcServiceOptions>(o =>
        {
            // Once, however often this is called: a second interceptor would take a second permit for every call.
            if (!o.Interceptors.Any(i => i.Type == typeof(BackpressureInterceptor)))
            {
                o.Interceptors.Add<BackpressureInterceptor>();
            }
        });
        return builder;
    }
}
