using Backpressure.Admission;
using Backpressure.AspNetCore;
using Backpressure.AspNetCore.Admission;
using Backpressure.Grpc;
using Backpressure.Queues;
using Backpressure.Redis;
using Backpressure.Server.Alerts;
using Backpressure.Server.Grpc;
using Backpressure.Server.WebSockets;
using Grpc.AspNetCore.Server;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Backpressure.Server;

/// <summary>Builds the reference service: the seed endpoints and the overhead-benchmark endpoints.</summary>
public static class ServerApplication
{
    /// <summary>Where the server listens when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says.</summary>
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>Gauge policy names, each configured under <c>Backpressure:Gauges:NAME</c>.</summary>
    public static class Gauges
    {
        /// <summary>Guards <c>/backpressure</c>.</summary>
        public const string Backpressure = "backpressure";

        /// <summary>Guards the Go seed's <c>/request</c>.</summary>
        public const string Request = "request";

        /// <summary>Guards <c>/overhead/gauge</c> (and sizes the base library's limiter at <c>/overhead/rate-limiter</c>).</summary>
        public const string Overhead = "overhead";
    }

    /// <summary>Adaptive concurrency limits, each configured under <c>Backpressure:Adaptive:NAME</c>.</summary>
    public static class Adaptive
    {
        /// <summary>Guards <c>/adaptive</c>: the seed work behind a limit that finds the service's capacity by itself.</summary>
        public const string Seed = "adaptive";

        /// <summary>The limit behind the waiting room of <c>/prioritized</c> (its own, so that every permit of it is returned through the room).</summary>
        public const string Prioritized = "prioritized-limit";
    }

    /// <summary>Waiting rooms, each configured under <c>Backpressure:WaitingRooms:NAME</c>.</summary>
    public static class WaitingRooms
    {
        /// <summary>Guards <c>/prioritized</c>: the seed work behind an adaptive limit, shed by criticality when it must.</summary>
        public const string Prioritized = "prioritized";
    }

    /// <summary>Per-client rate-limit policies, each configured under <c>Backpressure:RateLimits:NAME</c> and served at <c>/limited/NAME</c>.</summary>
    public static class RateLimits
    {
        /// <summary>Fixed window.</summary>
        public const string FixedWindow = "fixed-window";

        /// <summary>Sliding window.</summary>
        public const string SlidingWindow = "sliding-window";

        /// <summary>Token bucket.</summary>
        public const string TokenBucket = "token-bucket";

        /// <summary>Leaky bucket.</summary>
        public const string LeakyBucket = "leaky-bucket";
    }

    private const string AspNetConcurrencyPolicy = "aspnet-concurrency";
    private const string AspNetSeedPolicy = "aspnet-seed";

    private static readonly string[] AllRateLimits = [RateLimits.FixedWindow, RateLimits.SlidingWindow, RateLimits.TokenBucket, RateLimits.LeakyBucket];

    private static readonly string[] AllGauges = [Gauges.Backpressure, Gauges.Request, Gauges.Overhead];

    /// <summary>The exit code when a setting is invalid (the one message says which).</summary>
    public const int InvalidConfigurationExitCode = 2;

    /// <summary>The exit code when a listener cannot be bound (the address is in use, or not this machine's).</summary>
    public const int CannotListenExitCode = 3;

    /// <summary>
    /// Runs the server until it is stopped (SIGTERM, Ctrl+C) and returns the process's exit code. A bad setting or an
    /// address that cannot be bound ends start-up with one line on <paramref name="errors"/> and a code of its own,
    /// rather than an unhandled exception's abort and stack trace.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        WebApplication app;
        try
        {
            app = Build(args);
            await app.StartAsync();
        }
        catch (Exception e) when (StartupFailure(e) is { } failure)
        {
            await errors.WriteLineAsync($"backpressure-server: {failure.Message}");
            return failure.ExitCode;
        }

        await app.WaitForShutdownAsync();
        await app.DisposeAsync();
        return 0;
    }

    // What stops start-up and is the operator's to fix, with its one-line message; null for a bug, which keeps its stack trace.
    private static (string Message, int ExitCode)? StartupFailure(Exception e) => e switch
    {
        OptionsValidationException invalid => ($"invalid configuration: {string.Join(" ", invalid.Failures)}", InvalidConfigurationExitCode),
        // The binder's "Failed to convert configuration value at 'KEY'", and a listener address refused by Listeners.
        InvalidOperationException { InnerException: FormatException or InvalidCastException or OverflowException or ArgumentException } bad
            => ($"invalid configuration: {bad.Message} {bad.InnerException!.Message}", InvalidConfigurationExitCode),
        ArgumentException bad => ($"invalid configuration: {bad.Message}", InvalidConfigurationExitCode),
        IOException cannotBind => ($"cannot listen: {cannotBind.Message}", CannotListenExitCode),
        _ => null,
    };

    /// <summary>Builds the application from command-line arguments, <c>appsettings.json</c> and the environment.</summary>
    public static WebApplication Build(string[] args)
    {
        // The listeners are bound explicitly (see Listeners). The host reads --urls (or ASPNETCORE_URLS) once, as the
        // builder is created, and Kestrel warns that it ignores them; so they are read here and a last, empty --urls
        // (the command line outranks the environment) leaves the host none.
        string urls = new ConfigurationBuilder().AddEnvironmentVariables("ASPNETCORE_").AddCommandLine(args).Build()[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } given
            ? given
            : DefaultUrls;
        string[] httpUrls = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [.. args, "--urls="],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ApplicationServices.GetRequiredService<Listeners>().Configure(
            kestrel,
            httpUrls,
            kestrel.ApplicationServices.GetRequiredService<IOptions<GrpcEndpointOptions>>().Value,
            kestrel.ApplicationServices.GetRequiredService<IOptions<ManagementOptions>>().Value));

        ConfigureServices(builder.Services, builder.Configuration);
        WebApplication app = builder.Build();
        app.Services.GetRequiredService<ServerMetrics>();
        app.Services.GetRequiredService<QueueMemoryBudget>();

        // The seed work calibrates its CPU part when created: before the first request, not during it.
        app.Services.GetRequiredService<SeedWork>();
        app.Services.GetRequiredService<RecentLatencies>();
        Listeners listeners = app.Services.GetRequiredService<Listeners>();
        app.UseRouting();
        app.Use((context, next) => listeners.Serves(context, context.GetEndpoint()) ? next(context) : NotHereAsync(context));
        // The dashboard's files are operational too: served only where the operational endpoints are.
        app.UseWhen(listeners.ServesOperations, files => files.UseStaticFiles());
        app.UseRateLimiter();
        MapEndpoints(app);
        app.Lifetime.ApplicationStarted.Register(() => LogStarted(app));
        return app;
    }

    private static void ConfigureServices(IServiceCollection services, ConfigurationManager configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<SeedWorkOptions>()
            .Bind(configuration.GetSection(SeedWorkOptions.Section))
            .Validate(o => o.MemoryPerCallMegabytes is >= 0 and <= 4096,
                "SeedWork:MemoryPerCallMegabytes must be between 0 and 4096.")
            .Validate(o => o.CpuTime >= TimeSpan.Zero && o.CpuTime <= TimeSpan.FromSeconds(10),
                "SeedWork:CpuTime must be between 00:00:00 and 00:00:10.")
            .Validate(o => o.IoTime >= TimeSpan.Zero && o.IoTime <= TimeSpan.FromMinutes(10),
                "SeedWork:IoTime must be between 00:00:00 and 00:10:00.")
            .ValidateOnStart();
        services.AddOptions<SeedRequestOptions>()
            .Bind(configuration.GetSection(SeedRequestOptions.Section))
            .Validate(o => o.HoldTime >= TimeSpan.Zero && o.HoldTime <= TimeSpan.FromMinutes(10),
                "SeedRequest:HoldTime must be between 00:00:00 and 00:10:00.")
            .ValidateOnStart();
        RejectUnknownSettings<SeedWorkOptions>(services, "SeedWork", configuration.GetSection(SeedWorkOptions.Section), typeof(SeedWorkOptions));
        RejectUnknownSettings<SeedRequestOptions>(services, "SeedRequest", configuration.GetSection(SeedRequestOptions.Section), typeof(SeedRequestOptions));
        services.AddSingleton<SeedWork>();
        services.AddSingleton<IValidateOptions<WebSocketEndpointOptions>>(
            new OptionsValidator<WebSocketEndpointOptions>("WebSocket endpoints", null, o => o.Validate()));
        services.AddOptions<WebSocketEndpointOptions>().Bind(configuration.GetSection(WebSocketEndpointOptions.Section)).ValidateOnStart();
        RejectUnknownSettings<WebSocketEndpointOptions>(
            services, "WebSocket endpoints", configuration.GetSection(WebSocketEndpointOptions.Section), typeof(WebSocketEndpointOptions));
        services.AddSingleton<WebSocketSessions>();
        services.AddSingleton<WebSocketConnectionLimits>();
        services.AddSingleton<IValidateOptions<MemoryBudgetOptions>>(new OptionsValidator<MemoryBudgetOptions>("Memory budget", null, o => o.Validate()));
        services.AddOptions<MemoryBudgetOptions>().Bind(configuration.GetSection(MemoryBudgetOptions.Section)).ValidateOnStart();
        RejectUnknownSettings<MemoryBudgetOptions>(services, "Memory budget", configuration.GetSection(MemoryBudgetOptions.Section), typeof(MemoryBudgetOptions));
        services.AddSingleton(sp =>
        {
            long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            var budget = new QueueMemoryBudget(sp.GetRequiredService<IOptions<MemoryBudgetOptions>>().Value.EffectiveQueueBytes(available), sp.GetRequiredService<TimeProvider>());
            sp.GetRequiredService<BackpressureMetrics>().Observe(MemoryBudgetOptions.BudgetName, budget);
            return budget;
        });
        ConfigureGrpc(services, configuration);
        services.AddBackpressureMetrics();
        services.AddSingleton<ServerMetrics>();
        services.AddSingleton<RecentLatencies>();
        services.AddOptions<AlertOptions>().Bind(configuration.GetSection(AlertOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertOptions>>(new OptionsValidator<AlertOptions>("Alerts", null, o => o.Validate([.. AllGauges, Adaptive.Seed])));
        RejectUnknownSettings<AlertOptions>(services, "Alerts", configuration.GetSection(AlertOptions.Section), typeof(AlertOptions));
        services.AddSingleton<ServerAlerts>();
        services.AddHostedService(sp => sp.GetRequiredService<ServerAlerts>());
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("backpressure-server"))
            .WithMetrics(metrics => metrics.AddMeter(BackpressureMeter.Name).AddPrometheusExporter());
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower);

        AddPolicies(services, configuration);

        // The base library's own middleware and ConcurrencyLimiter, for the overhead comparison.
        int overheadLimit = configuration.GetValue<int>($"Backpressure:Gauges:{Gauges.Overhead}:PermitLimit");
        int seedLimit = configuration.GetValue<int>($"Backpressure:Gauges:{Gauges.Backpressure}:PermitLimit");
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddConcurrencyLimiter(AspNetConcurrencyPolicy, c =>
            {
                c.PermitLimit = Math.Max(1, overheadLimit);
                c.QueueLimit = 0;
            });

            // The seed work behind the base library's limiter of the gauge's size, for the overload benchmark.
            o.AddConcurrencyLimiter(AspNetSeedPolicy, c =>
            {
                c.PermitLimit = Math.Max(1, seedLimit);
                c.QueueLimit = 0;
            });
        });
    }

    /// <summary>
    /// Every policy the endpoints require: the gauges and the adaptive limit in front of the seed work, and the
    /// <c>/limited/*</c> rate limits, per client by remote address (or by <c>Backpressure:ClientIdHeader</c>, when
    /// a trusted gateway sets it), in-process or, with <c>Backpressure:Store=redis</c>, shared through Redis.
    /// </summary>
    private static void AddPolicies(IServiceCollection services, ConfigurationManager configuration)
    {
        // Read now as well as validated at start: which store to use decides what to register.
        var store = new RateLimitStoreOptions();
        configuration.GetSection(RateLimitStoreOptions.Section).Bind(store);
        services.AddSingleton<IValidateOptions<RateLimitStoreOptions>>(
            new OptionsValidator<RateLimitStoreOptions>("Rate-limit store", null, o => o.Validate()));
        services.AddOptions<RateLimitStoreOptions>().Bind(configuration.GetSection(RateLimitStoreOptions.Section)).ValidateOnStart();
        RejectUnknownPolicies(services, configuration);
        IConfigurationSection limits = configuration.GetSection("Backpressure:RateLimits");
        Action<PartitionedPolicyOptions>? partitioning = store.ClientIdHeader is { Length: > 0 } header
            ? o => o.PartitionBy = RequestPartitioner.ClientChosenHeader(header)
            : null;

        services.AddBackpressure(bp =>
        {
            foreach (string gauge in AllGauges)
            {
                bp.AddPressureGauge(gauge, configuration.GetSection($"Backpressure:Gauges:{gauge}"));
            }

            bp.AddAdaptiveConcurrency(Adaptive.Seed, configuration.GetSection($"Backpressure:Adaptive:{Adaptive.Seed}"));
            bp.AddAdaptiveConcurrency(Adaptive.Prioritized, configuration.GetSection($"Backpressure:Adaptive:{Adaptive.Prioritized}"));
            bp.AddWaitingRoom(WaitingRooms.Prioritized, Adaptive.Prioritized, configuration.GetSection($"Backpressure:WaitingRooms:{WaitingRooms.Prioritized}"));
            bp.AddFixedWindow(RateLimits.FixedWindow, limits.GetSection(RateLimits.FixedWindow), partitioning);
            bp.AddSlidingWindow(RateLimits.SlidingWindow, limits.GetSection(RateLimits.SlidingWindow), partitioning);
            bp.AddTokenBucket(RateLimits.TokenBucket, limits.GetSection(RateLimits.TokenBucket), partitioning);
            bp.AddLeakyBucket(RateLimits.LeakyBucket, limits.GetSection(RateLimits.LeakyBucket), partitioning);
            bp.DrainOnShutdown(configuration.GetSection("Backpressure:Shutdown"));
            if (store.UsesRedis)
            {
                bp.UseRedis(configuration.GetSection(RateLimitStoreOptions.RedisSection));
            }
        });
    }

    /// <summary>
    /// Fails start-up on a key under <c>Backpressure</c> that nothing reads: a misspelt setting (<c>Stor</c>) or a
    /// policy this server does not have (<c>Gauges:backpresure</c>). Each policy's own keys are checked by the
    /// library when it binds the section.
    /// </summary>
    private static void RejectUnknownPolicies(IServiceCollection services, ConfigurationManager configuration)
    {
        string[] sections = ["MemoryBudget", "Management", "Shutdown", "Redis", "Gauges", "Adaptive", "WaitingRooms", "RateLimits", "WebSockets", "Grpc", "Alerts"];
        RejectUnknownSettings<RateLimitStoreOptions>(
            services, "Backpressure", configuration.GetSection(RateLimitStoreOptions.Section), [typeof(RateLimitStoreOptions)], sections);
        (string Section, string[] Names)[] named =
        [
            ("Gauges", AllGauges), ("Adaptive", [Adaptive.Seed, Adaptive.Prioritized]),
            ("WaitingRooms", [WaitingRooms.Prioritized]), ("RateLimits", AllRateLimits),
        ];
        foreach ((string section, string[] names) in named)
        {
            RejectUnknownSettings<RateLimitStoreOptions>(services, $"Backpressure:{section}", configuration.GetSection($"Backpressure:{section}"), [], names);
        }
    }

    private static void RejectUnknownSettings<TOptions>(IServiceCollection services, string kind, IConfiguration section, params Type[] types)
        where TOptions : class
        => RejectUnknownSettings<TOptions>(services, kind, section, types, null);

    private static void RejectUnknownSettings<TOptions>(
        IServiceCollection services, string kind, IConfiguration section, Type[] types, string[]? alsoKnown)
        where TOptions : class
        => services.AddSingleton(UnknownSettings.Validator<TOptions>(kind, null, section, types, alsoKnown));

    private static void ConfigureGrpc(IServiceCollection services, ConfigurationManager configuration)
    {
        services.AddSingleton<Listeners>();
        services.AddSingleton<IValidateOptions<ManagementOptions>>(new OptionsValidator<ManagementOptions>("Management", null, o => o.Validate()));
        services.AddOptions<ManagementOptions>().Bind(configuration.GetSection(ManagementOptions.Section)).ValidateOnStart();
        RejectUnknownSettings<ManagementOptions>(services, "Management", configuration.GetSection(ManagementOptions.Section), typeof(ManagementOptions));
        services.AddSingleton<IValidateOptions<GrpcEndpointOptions>>(
            new OptionsValidator<GrpcEndpointOptions>("gRPC endpoint", null, o => o.Validate()));
        services.AddOptions<GrpcEndpointOptions>().Bind(configuration.GetSection(GrpcEndpointOptions.Section)).ValidateOnStart();
        RejectUnknownSettings<GrpcEndpointOptions>(
            services, "gRPC endpoint", configuration.GetSection(GrpcEndpointOptions.Section), typeof(GrpcEndpointOptions), typeof(GrpcMethodLimitOptions));

        services.AddSingleton<GrpcStreams>();

        // One pressure gauge per method, as the HTTP endpoints have one per policy.
        services.AddGrpc(o => o.Interceptors.Add<GrpcCallLog>()).AddBackpressure(configuration.GetSection(GrpcEndpointOptions.Section));
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<GrpcEndpointOptions>>((grpc, limits) =>
        {
            grpc.MaxReceiveMessageSize = limits.Value.MaxMessageBytes;
            // No catch-all route for unknown services: it would take every POST that matches no endpoint, so that a
            // wrong method on an HTTP endpoint got 404 instead of 405. Unknown gRPC paths are answered UNIMPLEMENTED by the listener check.
            grpc.IgnoreUnknownServices = true;
            grpc.MaxSendMessageSize = limits.Value.MaxMessageBytes;
        });
    }

    private static void MapEndpoints(WebApplication app)
    {
        app.MapGet("/sync", (SeedWork work) => Done(work.RunBlocking()));
        app.MapGet("/async", async (SeedWork work, CancellationToken ct) => Done(await work.RunAsync(ct)));
        app.MapGet("/backpressure", async (SeedWork work, CancellationToken ct) => Done(await work.RunAsync(ct)))
            .RequireBackpressure(Gauges.Backpressure);
        app.MapGet("/adaptive", async (SeedWork work, CancellationToken ct) => Done(await work.RunAsync(ct)))
            .RequireBackpressure(Adaptive.Seed);
        // The seed work shed by criticality: the X-Criticality header (set by a trusted gateway, or by bp load --mix),
        // else the endpoint's. The two fixed-criticality paths show endpoint metadata.
        app.MapGet("/prioritized", async (SeedWork work, CancellationToken ct) => Done(await work.RunAsync(ct)))
            .RequireBackpressure(WaitingRooms.Prioritized);
        app.MapGet("/prioritized/critical", async (SeedWork work, CancellationToken ct) => Done(await work.RunAsync(ct)))
            .WithCriticality(Criticality.Critical)
            .RequireBackpressure(WaitingRooms.Prioritized);
        app.MapGet("/prioritized/batch", async (SeedWork work, CancellationToken ct) => Done(await work.RunAsync(ct)))
            .WithCriticality(Criticality.Batch)
            .RequireBackpressure(WaitingRooms.Prioritized);
        app.MapGet("/aspnet-concurrency", async (SeedWork work, CancellationToken ct) => Done(await work.RunAsync(ct)))
            .RequireRateLimiting(AspNetSeedPolicy);
        app.MapGet("/request", async (IOptions<SeedRequestOptions> options, TimeProvider time, CancellationToken ct) =>
            {
                await Task.Delay(options.Value.HoldTime, time, ct);
                return "done";
            })
            .RequireBackpressure(Gauges.Request);

        RouteGroupBuilder overhead = app.MapGroup("/overhead");
        overhead.MapGet("/bare", () => "ok");
        overhead.MapGet("/gauge", () => "ok").RequireBackpressure(Gauges.Overhead);
        overhead.MapGet("/rate-limiter", () => "ok").RequireRateLimiting(AspNetConcurrencyPolicy);

        RouteGroupBuilder limited = app.MapGroup("/limited");
        foreach (string policy in AllRateLimits)
        {
            limited.MapGet($"/{policy}", () => "ok").RequireBackpressure(policy);
        }

        WebSocketEndpoints.Map(app);
        app.MapGrpcService<FlowService>();
        ManagementOptions management = app.Services.GetRequiredService<IOptions<ManagementOptions>>().Value;
        IEndpointConventionBuilder[] operational =
        [
            app.MapGet("/stats", (IServiceProvider services) => ServerStatistics.Capture(services, AllGauges)),
            // The exporter maps every method; a scrape is a GET, anything else is answered 405.
            app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head])),
            app.MapGet("/alerts", (ServerAlerts alerts) => AlertsReport.From(alerts)),
            app.MapGet("/dashboard", (IWebHostEnvironment environment) =>
                Results.File(Path.Combine(environment.WebRootPath, "dashboard", "index.html"), "text/html; charset=utf-8")),
        ];
        foreach (IEndpointConventionBuilder endpoint in operational)
        {
            endpoint.WithMetadata(OperationalEndpoint.Instance);
            if (management.Hosts is { } hosts)
            {
                endpoint.RequireHost(hosts);
            }
        }
    }

    // An endpoint asked for on a listener it does not belong on: as if it did not exist there (a gRPC client is told UNIMPLEMENTED).
    private static Task NotHereAsync(HttpContext context)
    {
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
        {
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "12";
            context.Response.Headers["grpc-message"] = $"{context.Request.Path} is not a gRPC method of this server";
            return Task.CompletedTask;
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static string Done(long checksum) => $"done {checksum:x16}";

    private static void LogStarted(WebApplication app)
    {
        if (!app.Logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        IServiceProvider services = app.Services;
        SeedWorkOptions work = services.GetRequiredService<IOptions<SeedWorkOptions>>().Value;
        string gauges = string.Join(", ", AllGauges
            .Select(name => $"{name}={services.GetRequiredKeyedService<PressureGauge>(name).PermitLimit}")
            .Append($"{Adaptive.Seed}=adaptive from {services.GetRequiredKeyedService<Backpressure.Adaptive.AdaptiveConcurrencyLimiter>(Adaptive.Seed).Limit}")
            .Append($"{WaitingRooms.Prioritized}=waiting room in front of an adaptive limit"));
        var addresses = services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        Listeners listeners = services.GetRequiredService<Listeners>();
        Uri grpc = listeners.GrpcAddress;
        Uri? management = listeners.ManagementAddress;
        string operations = management?.ToString() ?? "the HTTP listeners";
        string urls = string.Join(' ', (addresses ?? []).Where(a => new Uri(a) != grpc && new Uri(a) != management));
        double holdMilliseconds = services.GetRequiredService<IOptions<SeedRequestOptions>>().Value.HoldTime.TotalMilliseconds;
        long availableMegabytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024);
        ServerLog.Started(
            app.Logger, urls, grpc, operations, work.MemoryPerCallMegabytes, work.CpuTime.TotalMilliseconds,
            work.IoTime.TotalMilliseconds, holdMilliseconds, gauges, availableMegabytes);
    }
}
