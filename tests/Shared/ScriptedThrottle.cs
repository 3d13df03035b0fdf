using System.Collections.Concurrent;
using Backpressure.Client;

namespace Backpressure.Testing;

/// <summary>
/// For the client adapters' tests that an attempt the throttle refuses is retried: the throttle's draws, scripted, and
/// retry options that always allow one quick retry.
/// </summary>
internal sealed class ScriptedThrottle
{
    private readonly ConcurrentQueue<double> _draws = new();

    public ScriptedThrottle() => Draws = () => _draws.TryDequeue(out double draw) ? draw : 0.999;

    /// <summary>The draws: 0.999 unless <see cref="RefuseNext"/> said otherwise, which lets an attempt through whenever some calls are accepted at all.</summary>
    public Func<double> Draws { get; }

    /// <summary>The next draw is 0, refused as soon as the throttle refuses anything.</summary>
    public void RefuseNext() => _draws.Enqueue(0);

    /// <summary>One retry after 1 ms, and a budget that never says no.</summary>
    public static T WithOneQuickRetry<T>(T options)
        where T : ClientBackpressureOptions
    {
        options.MaxRetries = 1;
        options.RetryDelay = TimeSpan.FromMilliseconds(1);
        options.RetryBudget = new() { RetryRatio = 1, MinRetriesPerWindow = 1000 };
        return options;
    }
}
