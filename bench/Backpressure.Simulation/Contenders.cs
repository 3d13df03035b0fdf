using Backpressure.Adaptive;
using Backpressure.Simulation.Competitors;

namespace Backpressure.Simulation;

/// <summary>Every algorithm in the head-to-head, each with its own published defaults.</summary>
public static class Contenders
{
    /// <summary>Backpressure's <see cref="QueueingDelayLimit"/>, with its defaults.</summary>
    public static Contender Ours { get; } = new("Backpressure QueueingDelayLimit", _ => new QueueingDelayLimit());

    /// <summary>The adaptive competitors.</summary>
    public static IReadOnlyList<Contender> Competitors { get; } =
    [
        new("Netflix AIMD", _ => new NetflixAimdLimit()),
        new("Netflix Vegas", _ => new NetflixVegasLimit()),
        new("Netflix Gradient2 (windowed)", _ => new NetflixWindowedLimit(new NetflixGradient2Limit())),
        new("Envoy gradient controller", _ => new EnvoyGradientController()),
        new("go-kratos BBR", cpu => new KratosBbrLimit(cpu)),
    ];

    /// <summary>Ours, then the competitors, then no limit.</summary>
    public static IReadOnlyList<Contender> Adaptive { get; } = [Ours, .. Competitors, Contender.NoLimit];
}
