using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Backpressure.AspNetCore;

/// <summary>
/// Builds the application's endpoints as the host starts, so that an endpoint requiring a policy nobody
/// registered (a typo, a forgotten registration) stops start-up with the name, instead of failing the
/// first request to that endpoint. Endpoints are otherwise built lazily, at the first request.
/// </summary>
internal sealed class RequiredPoliciesCheck(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetService<EndpointDataSource>()?.Endpoints;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
