using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Backpressure.AspNetCore.Shutdown;

/// <summary>Puts the drain first in the pipeline, so that it counts and refuses every request, whatever the application adds.</summary>
internal sealed class ShutdownDrainStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<ShutdownDrainMiddleware>();
        next(app);
    };
}
