using System.Threading.RateLimiting;
using Backpressure.Adaptive;
using Backpressure.Admission;
using Backpressure.AspNetCore.Admission;
using Backpressure.AspNetCore.Shutdown;
using Microsoft.AspNetCore.Hosting;
using Backpressure.Partitioning;
using Backpressure.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Backpressure.AspNetCore;

/// <summary>
/// Registers named <see cref="BackpressurePolicy"/> instances, which endpoints require with
/// <see cref="BackpressureEndpointConventionBuilderExtensions.RequireBackpressure{TBuilder}(TBuilder, string)"/>.
/// Got from <see cref="BackpressureServiceCollectionExtensions.AddBackpressure"/>. A policy's options are
/// validated when the host starts (a bad value stops start-up naming it); a name registered twice is refused
/// here, and a name that an endpoint requires but nobody registered stops start-up.
/// </summary>
public sealed class BackpressureBuilder
{
    private readonly PolicyNames _names;

    internal BackpressureBuilder(IServiceCollection services, PolicyNames names)
    {
        Services = services;
        _names = names;
    }

    /// <summary>The services the policies are registered in, for extensions (such as <c>UseRedis</c>).</summary>
    public IServiceCollection Services { get; }

    /// <summary>Registers a policy built by <paramref name="create"/> when first needed: the general form behind every other method.</summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="create">Builds the policy from the application's services.</param>
    /// <exception cref="ArgumentException">A policy of that name is already registered.</exception>
    public BackpressureBuilder AddPolicy(string name, Func<IServiceProvider, BackpressurePolicy> create)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(create);
        _names.Add(name);
        Services.AddKeyedSingleton(name, (sp, _) => create(sp));
        return this;
    }

    /// <summary>
    /// Registers a policy in front of one limiter that every request shares: any <see cref="RateLimiter"/>,
    /// ours or the base library's (also registered as the keyed <see cref="RateLimiter"/> <paramref name="name"/>).
    /// </summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="create">Creates the limiter.</param>
    /// <param name="answer">How refusals are answered; plain text by default.</param>
    public BackpressureBuilder AddLimiter(string name, Func<IServiceProvider, RateLimiter> create, RefusalAnswer answer = RefusalAnswer.PlainText)
    {
        ArgumentNullException.ThrowIfNull(create);
        Services.AddKeyedSingleton<RateLimiter>(name, (sp, _) => create(sp));
        return AddPolicy(name, sp => new BackpressurePolicy(name, new SharedLimiter(sp.GetRequiredKeyedService<RateLimiter>(name)), answer));
    }

    /// <summary>
    /// Registers a policy with one limiter per partition (see <see cref="PartitionedPolicyOptions"/>: by
    /// remote address unless configured otherwise, at most 10,000 partitions by default).
    /// </summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="createForPartition">Creates one partition's limiter (services, partition key).</param>
    /// <param name="configure">Sets how requests are partitioned; optional.</param>
    /// <param name="quota">What each partition allows, for the <c>RateLimit</c> headers; null sends none.</param>
    public BackpressureBuilder AddPartitionedLimiter(
        string name,
        Func<IServiceProvider, string, RateLimiter> createForPartition,
        Action<PartitionedPolicyOptions>? configure = null,
        RateLimitQuota? quota = null)
    {
        ArgumentNullException.ThrowIfNull(createForPartition);
        OptionsBuilder<PartitionedPolicyOptions> partitioning = AddPartitioning(name);
        if (configure is not null)
        {
            partitioning.Configure(configure);
        }

        return AddPolicy(name, sp => NewPartitionedPolicy(sp, name, partition => createForPartition(sp, partition), quota));
    }

    /// <summary>
    /// Registers a <see cref="PressureGauge"/> that every request shares (also as the keyed
    /// <see cref="PressureGauge"/> <paramref name="name"/>): a fixed concurrency limit that refuses at once.
    /// </summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="configure">Sets the gauge's options.</param>
    public BackpressureBuilder AddPressureGauge(string name, Action<PressureGaugeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddPressureGauge(name, options => options.Configure(configure));
    }

    /// <summary>Registers a <see cref="PressureGauge"/> whose options are bound from <paramref name="configuration"/> (for example <c>Backpressure:Gauges:NAME</c>).</summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="configuration">The section holding <see cref="PressureGaugeOptions"/>.</param>
    public BackpressureBuilder AddPressureGauge(string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        RejectUnknownSettings<PressureGaugeOptions>("Pressure gauge", name, configuration);
        return AddPressureGauge(name, options => options.Bind(configuration));
    }

    /// <summary>
    /// Registers an <see cref="AdaptiveConcurrencyLimiter"/> running a <see cref="QueueingDelayLimit"/>
    /// that every request shares (also as the keyed <see cref="AdaptiveConcurrencyLimiter"/> <paramref name="name"/>):
    /// a concurrency limit that finds the work's capacity by itself.
    /// </summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="configure">Sets the options.</param>
    public BackpressureBuilder AddAdaptiveConcurrency(string name, Action<AdaptiveConcurrencyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddAdaptiveConcurrency(name, options => options.Configure(configure));
    }

    /// <summary>Registers an adaptive concurrency limit whose options are bound from <paramref name="configuration"/> (for example <c>Backpressure:Adaptive:NAME</c>).</summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="configuration">The section holding <see cref="AdaptiveConcurrencyOptions"/>.</param>
    public BackpressureBuilder AddAdaptiveConcurrency(string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        RejectUnknownSettings<AdaptiveConcurrencyOptions>("Adaptive concurrency limit", name, configuration);
        return AddAdaptiveConcurrency(name, options => options.Bind(configuration));
    }

    /// <summary>
    /// Registers a waiting room in front of the limiter of the shared-limit policy <paramref name="limiterPolicy"/>
    /// (a gauge, an adaptive limit, any <see cref="AddLimiter"/>): requests that find it full wait, bounded by time
    /// (CoDel, adaptive LIFO), the more critical first, and under sustained overload the least critical are refused
    /// at once. A refusal also says, in <c>Backpressure-Shed</c>, which criticality was shed and why. Give endpoints a
    /// criticality with <c>WithCriticality</c>; options are bound from <paramref name="configuration"/> (for example
    /// <c>Backpressure:WaitingRooms:NAME</c>).
    /// </summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="limiterPolicy">The policy registered with a shared limiter whose permits the room hands out; endpoints are best put behind the room only, so that every returned permit admits a waiter.</param>
    /// <param name="configuration">The section holding <see cref="WaitingRoomPolicyOptions"/>.</param>
    public BackpressureBuilder AddWaitingRoom(string name, string limiterPolicy, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        RejectUnknownSettings<WaitingRoomPolicyOptions>("Waiting room", name, configuration);
        return AddWaitingRoom(name, limiterPolicy, options => options.Bind(configuration));
    }

    /// <summary>Registers a waiting room in front of the limiter of the policy <paramref name="limiterPolicy"/>, its options set in code.</summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="limiterPolicy">The policy registered with a shared limiter whose permits the room hands out.</param>
    /// <param name="configure">Sets the options.</param>
    public BackpressureBuilder AddWaitingRoom(string name, string limiterPolicy, Action<WaitingRoomPolicyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddWaitingRoom(name, limiterPolicy, options => options.Configure(configure));
    }

    /// <summary>A fixed-window rate limit per partition: <c>PermitLimit</c> per <c>Window</c>. Options (and <see cref="PartitionedPolicyOptions.MaxPartitions"/>) are bound from <paramref name="configuration"/>.</summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="configuration">The section holding <see cref="FixedWindowLimiterOptions"/>.</param>
    /// <param name="partitioning">Sets how requests are partitioned; by remote address when null.</param>
    public BackpressureBuilder AddFixedWindow(string name, IConfiguration configuration, Action<PartitionedPolicyOptions>? partitioning = null) =>
        AddRateLimit<FixedWindowLimiterOptions>(name, configuration, partitioning, static o => o.Validate(),
            static (backend, name, key, o) => backend.CreateFixedWindow(name, key, o), static o => new RateLimitQuota(o.PermitLimit, o.Window));

    /// <summary>A sliding-window rate limit per partition: <c>PermitLimit</c> within any <c>Window</c>, at segment granularity.</summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="configuration">The section holding <see cref="SlidingWindowLimiterOptions"/>.</param>
    /// <param name="partitioning">Sets how requests are partitioned; by remote address when null.</param>
    public BackpressureBuilder AddSlidingWindow(string name, IConfiguration configuration, Action<PartitionedPolicyOptions>? partitioning = null) =>
        AddRateLimit<SlidingWindowLimiterOptions>(name, configuration, partitioning, static o => o.Validate(),
            static (backend, name, key, o) => backend.CreateSlidingWindow(name, key, o), static o => new RateLimitQuota(o.PermitLimit, o.Window));

    /// <summary>A token-bucket rate limit per partition: bursts of <c>TokenLimit</c>, refilled at <c>TokensPerPeriod</c> per <c>ReplenishmentPeriod</c>.</summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="configuration">The section holding <see cref="TokenBucketLimiterOptions"/>.</param>
    /// <param name="partitioning">Sets how requests are partitioned; by remote address when null.</param>
    public BackpressureBuilder AddTokenBucket(string name, IConfiguration configuration, Action<PartitionedPolicyOptions>? partitioning = null) =>
        AddRateLimit<TokenBucketLimiterOptions>(name, configuration, partitioning, static o => o.Validate(),
            static (backend, name, key, o) => backend.CreateTokenBucket(name, key, o), static o => new RateLimitQuota(o.TokensPerPeriod, o.ReplenishmentPeriod));

    /// <summary>A leaky-bucket rate limit per partition: <c>PermitsPerPeriod</c> per <c>ReplenishmentPeriod</c>, evenly spaced, with up to <c>QueueLimit</c> waiting.</summary>
    /// <param name="name">The name endpoints refer to.</param>
    /// <param name="configuration">The section holding <see cref="LeakyBucketLimiterOptions"/>.</param>
    /// <param name="partitioning">Sets how requests are partitioned; by remote address when null.</param>
    public BackpressureBuilder AddLeakyBucket(string name, IConfiguration configuration, Action<PartitionedPolicyOptions>? partitioning = null) =>
        AddRateLimit<LeakyBucketLimiterOptions>(name, configuration, partitioning, static o => o.Validate(),
            static (backend, name, key, o) => backend.CreateLeakyBucket(name, key, o), static o => new RateLimitQuota(o.PermitsPerPeriod, o.ReplenishmentPeriod));

    private BackpressureBuilder AddPressureGauge(string name, Action<OptionsBuilder<PressureGaugeOptions>> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PressureGaugeOptions>>(
            new OptionsValidator<PressureGaugeOptions>("Pressure gauge", null, static o => o.Validate())));
        configure(Services.AddOptions<PressureGaugeOptions>(name).ValidateOnStart());
        Services.AddKeyedSingleton(name, static (sp, key) =>
        {
            var gauge = new PressureGauge(sp.GetRequiredService<IOptionsMonitor<PressureGaugeOptions>>().Get((string)key!), sp.GetRequiredService<TimeProvider>());
            sp.GetRequiredService<BackpressureMetrics>().Observe((string)key!, gauge);
            return gauge;
        });
        return AddLimiter(name, sp => sp.GetRequiredKeyedService<PressureGauge>(name));
    }

    private BackpressureBuilder AddAdaptiveConcurrency(string name, Action<OptionsBuilder<AdaptiveConcurrencyOptions>> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdaptiveConcurrencyOptions>>(
            new OptionsValidator<AdaptiveConcurrencyOptions>("Adaptive concurrency", null, static o => o.Validate())));
        configure(Services.AddOptions<AdaptiveConcurrencyOptions>(name).ValidateOnStart());

        // One thread-pool probe for every adaptive policy (the pool is the process's), the container's, so its timer stops with the host.
        Services.TryAddSingleton(static sp => new ThreadPoolQueueDelay(sp.GetRequiredService<TimeProvider>()));
        Services.AddKeyedSingleton(name, static (sp, key) =>
        {
            AdaptiveConcurrencyOptions options = sp.GetRequiredService<IOptionsMonitor<AdaptiveConcurrencyOptions>>().Get((string)key!);
            TimeProvider time = sp.GetRequiredService<TimeProvider>();
            ThreadPoolQueueDelay? delay = options.ThreadPoolDelayLimit is null ? null : sp.GetRequiredService<ThreadPoolQueueDelay>();
            var limiter = new AdaptiveConcurrencyLimiter(
                new QueueingDelayLimit(options.AlgorithmWithResourceSignal(time, delay)), options.Limiter, time);
            sp.GetRequiredService<BackpressureMetrics>().Observe((string)key!, limiter);
            return limiter;
        });
        return AddLimiter(name, sp => sp.GetRequiredKeyedService<AdaptiveConcurrencyLimiter>(name));
    }

    private BackpressureBuilder AddWaitingRoom(string name, string limiterPolicy, Action<OptionsBuilder<WaitingRoomPolicyOptions>> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(limiterPolicy);
        Services.AddSingleton<IValidateOptions<WaitingRoomPolicyOptions>>(
            new OptionsValidator<WaitingRoomPolicyOptions>("Waiting room", name, static o => o.Validate()));
        configure(Services.AddOptions<WaitingRoomPolicyOptions>(name).ValidateOnStart());
        return AddPolicy(name, sp =>
        {
            WaitingRoomPolicyOptions options = sp.GetRequiredService<IOptionsMonitor<WaitingRoomPolicyOptions>>().Get(name);
            RateLimiter limiter = sp.GetKeyedService<RateLimiter>(limiterPolicy)
                ?? throw new InvalidOperationException(
                    $"The waiting room '{name}' stands in front of the policy '{limiterPolicy}', which is not registered with a shared limiter " +
                    "(AddPressureGauge, AddAdaptiveConcurrency or AddLimiter).");
            var admission = new HttpAdmission(options);

            // The room and the limiter's own policy both dispose the limiter when the host stops; disposing twice is harmless.
            var room = new WaitingRoom<HttpContext>(limiter, admission.Describe, options.Room, sp.GetRequiredService<TimeProvider>());
            sp.GetRequiredService<BackpressureMetrics>().Observe(name, room);
            return new BackpressurePolicy(name, room, RefusalAnswer.PlainText) { Malformed = admission.Malformed };
        });
    }

    private BackpressureBuilder AddRateLimit<TOptions>(
        string name,
        IConfiguration configuration,
        Action<PartitionedPolicyOptions>? partitioning,
        Action<TOptions> validate,
        Func<RateLimitBackend, string, string, TOptions, RateLimiter> create,
        Func<TOptions, RateLimitQuota> describe)
        where TOptions : class
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configuration);
        Services.AddOptions<TOptions>(name).Bind(configuration).ValidateOnStart();
        RejectUnknownSettings<TOptions>("Rate-limit policy", name, configuration, typeof(PartitionedPolicyOptions));
        Services.AddSingleton<IValidateOptions<TOptions>>(new OptionsValidator<TOptions>("Rate-limit policy", name, validate));
        OptionsBuilder<PartitionedPolicyOptions> partitions = AddPartitioning(name).Bind(configuration);
        if (partitioning is not null)
        {
            partitions.Configure(partitioning);
        }

        return AddPolicy(name, sp =>
        {
            TOptions options = sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name);
            RateLimitBackend backend = sp.GetRequiredService<RateLimitBackend>();
            return NewPartitionedPolicy(sp, name, partition => create(backend, name, partition, options), describe(options));
        });
    }

    /// <summary>
    /// Drains the server when it is asked to stop (<see cref="ShutdownDrain"/>): new requests are refused with 503 and
    /// <c>Retry-After</c> while admitted ones finish, within <see cref="ShutdownDrainOptions.DrainTimeout"/>; the host's
    /// shutdown timeout is raised to leave it room. Options are bound from <paramref name="configuration"/> (for example <c>Backpressure:Shutdown</c>).
    /// </summary>
    /// <param name="configuration">The section holding <see cref="ShutdownDrainOptions"/>.</param>
    public BackpressureBuilder DrainOnShutdown(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Services.AddSingleton(UnknownSettings.Validator<ShutdownDrainOptions>("Shutdown drain", null, configuration, [typeof(ShutdownDrainOptions)]));
        return DrainOnShutdown(options => options.Bind(configuration));
    }

    /// <summary>As <see cref="DrainOnShutdown(IConfiguration)"/>, with the options set in code.</summary>
    /// <param name="configure">Sets the options.</param>
    public BackpressureBuilder DrainOnShutdown(Action<ShutdownDrainOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return DrainOnShutdown(options => options.Configure(configure));
    }

    private BackpressureBuilder DrainOnShutdown(Action<OptionsBuilder<ShutdownDrainOptions>> configure)
    {
        if (Services.Any(d => d.ServiceType == typeof(ShutdownDrain)))
        {
            throw new InvalidOperationException("DrainOnShutdown is called once per host.");
        }

        Services.AddSingleton<IValidateOptions<ShutdownDrainOptions>>(
            new OptionsValidator<ShutdownDrainOptions>("Shutdown drain", null, static o => o.Validate()));
        configure(Services.AddOptions<ShutdownDrainOptions>().ValidateOnStart());
        Services.AddSingleton<ShutdownDrain>();
        Services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        Services.AddTransient<IStartupFilter, ShutdownDrainStartupFilter>();

        // The host's shutdown timeout bounds the drain and Kestrel's own stop after it; 5 s is left for the latter.
        Services.AddOptions<HostOptions>().PostConfigure<IOptions<ShutdownDrainOptions>>((host, drain) =>
        {
            TimeSpan needed = drain.Value.DrainTimeout + TimeSpan.FromSeconds(5);
            if (host.ShutdownTimeout < needed)
            {
                host.ShutdownTimeout = needed;
            }
        });
        return this;
    }

    // A misspelt key in a bound section fails start-up naming it, instead of leaving the default in force unnoticed.
    private void RejectUnknownSettings<TOptions>(string kind, string name, IConfiguration configuration, params Type[] alsoBoundTo)
        where TOptions : class
        => Services.AddSingleton(UnknownSettings.Validator<TOptions>(kind, name, configuration, [typeof(TOptions), .. alsoBoundTo]));

    private OptionsBuilder<PartitionedPolicyOptions> AddPartitioning(string name)
    {
        Services.AddSingleton<IValidateOptions<PartitionedPolicyOptions>>(
            new OptionsValidator<PartitionedPolicyOptions>("Partitioning of policy", name, static o => o.Validate()));
        return Services.AddOptions<PartitionedPolicyOptions>(name).ValidateOnStart();
    }

    private static BackpressurePolicy NewPartitionedPolicy(
        IServiceProvider services, string name, Func<string, RateLimiter> createForPartition, RateLimitQuota? quota)
    {
        PartitionedPolicyOptions options = services.GetRequiredService<IOptionsMonitor<PartitionedPolicyOptions>>().Get(name);
        RequestPartitioner partitioner = options.PartitionBy;
        var limiter = new BoundedPartitionedRateLimiter<HttpContext>(
            partitioner.KeyOf, createForPartition, new PartitionBoundOptions { MaxPartitions = options.MaxPartitions });
        services.GetRequiredService<BackpressureMetrics>().Observe(name, limiter);
        return new BackpressurePolicy(name, limiter, options.Answer, quota) { Partitioner = partitioner };
    }
}
