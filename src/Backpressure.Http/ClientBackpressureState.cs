using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Backpressure.Client;

namespace Backpressure.Http;

/// <summary>
/// What one client remembers of each destination (scheme, host and port): its throttle, its retry budget, and until when
/// it asked to be left alone. Outlives the handlers the HttpClient factory recycles every few minutes, so a throttle keeps
/// its window across them.
/// </summary>
internal sealed class ClientBackpressureState
{
    // Destinations are the application's own choice, not a remote client's, but a loop over generated URLs must not grow
    // this without bound: beyond this many, new destinations share one state.
    private const int MostDestinations = 1000;
    private static readonly (string, string, int) s_overflow = ("(other destinations)", "", 0);
    private static readonly (string, string, int) s_relative = ("(relative)", "", 0);

    // Keyed by scheme, host and port as the Uri holds them (it caches all three; its Authority is a new string each
    // time), so finding a call's destination allocates nothing.
    private readonly ConcurrentDictionary<(string Scheme, string Host, int Port), Destination> _destinations = new();
    private readonly Counter<long>? _requests;

    public ClientBackpressureState(HttpClientBackpressureOptions options, TimeProvider time, IMeterFactory? meterFactory, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Time = time;
        Random = random ?? System.Random.Shared.NextDouble;
        if (meterFactory is not null)
        {
            _requests = meterFactory.Create(BackpressureMeter.Name).CreateCounter<long>(
                "backpressure.client.requests", "{request}",
                "Calls an HttpClient with client backpressure made, by outcome: sent, refused_locally (throttled or held back by Retry-After, never sent), held (waited for Retry-After, then sent), retried, budget_exhausted (a retry the budget refused).");
        }
    }

    public HttpClientBackpressureOptions Options { get; }

    public TimeProvider Time { get; }

    public Func<double> Random { get; }

    public Destination For(Uri? uri)
    {
        (string, string, int) key = uri is { IsAbsoluteUri: true } ? (uri.Scheme, uri.Host, uri.Port) : s_relative;
        if (_destinations.TryGetValue(key, out Destination? known))
        {
            return known;
        }

        if (_destinations.Count >= MostDestinations)
        {
            key = s_overflow;
        }

        return _destinations.GetOrAdd(key, static (destination, state) => new Destination(NameOf(destination), state), this);
    }

    private static string NameOf((string Scheme, string Host, int Port) destination) =>
        destination.Host.Length == 0 ? destination.Scheme : $"{destination.Scheme}://{destination.Host}:{destination.Port}";

    public void Count(Destination destination, string outcome) =>
        _requests?.Add(1, new KeyValuePair<string, object?>("server.address", destination.Name), new KeyValuePair<string, object?>(BackpressureMeter.OutcomeTag, outcome));

    /// <summary>One destination's throttle, budget and hold.</summary>
    internal sealed class Destination(string name, ClientBackpressureState state)
    {
        public string Name => name;

        public AdaptiveThrottle? Throttle { get; } = state.Options.Throttle ? new AdaptiveThrottle(state.Options.Throttling, state.Time, state.Random) : null;

        public RetryBudget Budget { get; } = new(state.Options.RetryBudget, state.Time);

        /// <summary>Until when the destination asked to be left alone, and the last wait it asked for.</summary>
        public Pushback Hold { get; } = new(state.Time);
    }
}
