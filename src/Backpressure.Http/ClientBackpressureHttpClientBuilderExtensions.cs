using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Backpressure.Http;

/// <summary>Puts a named <see cref="HttpClient"/> behind client backpressure.</summary>
public static class ClientBackpressureHttpClientBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="ClientBackpressureHandler"/> to the client: local throttling, retries within a budget, and
    /// <c>Retry-After</c> honoured, per destination. Options are named after the client and validated when its first
    /// handler is created (a bad value throws naming it); metrics go to the <c>Backpressure</c> meter when the container
    /// has an <see cref="IMeterFactory"/>.
    /// </summary>
    /// <param name="builder">The builder <c>services.AddHttpClient(...)</c> returned.</param>
    /// <param name="configure">Sets the options; the defaults when null.</param>
    public static IHttpClientBuilder AddClientBackpressure(this IHttpClientBuilder builder, Action<HttpClientBackpressureOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string name = builder.Name;
        IServiceCollection services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IValidateOptions<HttpClientBackpressureOptions>>(
            new OptionsValidator<HttpClientBackpressureOptions>("Client backpressure of HttpClient", name, static o => o.Validate()));
        OptionsBuilder<HttpClientBackpressureOptions> options = services.AddOptions<HttpClientBackpressureOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // One state per client, outliving the handlers the factory recycles, so that throttles keep their windows.
        services.AddKeyedSingleton(name, static (sp, key) => new ClientBackpressureState(
            sp.GetRequiredService<IOptionsMonitor<HttpClientBackpressureOptions>>().Get((string)key!),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IMeterFactory>()));
        return builder.AddHttpMessageHandler(sp => new ClientBackpressureHandler(sp.GetRequiredKeyedService<ClientBackpressureState>(name)));
    }
}
