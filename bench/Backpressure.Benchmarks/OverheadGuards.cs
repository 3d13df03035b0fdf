using Backpressure.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace Backpressure.Benchmarks;

/// <summary>
/// The two guards the overhead benchmarks compare, with the same limit (never reached), as the
/// server's <c>/overhead/*</c> endpoints have them: our gauge and the base library's
/// <c>ConcurrencyLimiter</c> behind its middleware (no queue).
/// </summary>
internal static class OverheadGuards
{
    /// <summary>The policy name of our gauge, for <c>RequireBackpressure</c>.</summary>
    public const string Gauge = "overhead";

    /// <summary>The policy name of the base library's limiter, for <c>RequireRateLimiting</c>.</summary>
    public const string Middleware = "aspnet";

    private const int Limit = 1000;

    public static IServiceCollection AddOverheadGuards(this IServiceCollection services) => services
        .AddBackpressure(bp => bp.AddPressureGauge(Gauge, o => o.PermitLimit = Limit))
        .AddRateLimiter(o => o.AddConcurrencyLimiter(Middleware, c =>
        {
            c.PermitLimit = Limit;
            c.QueueLimit = 0;
        }));
}
