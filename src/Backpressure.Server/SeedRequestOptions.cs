namespace Backpressure.Server;

/// <summary>
/// The Go seed's <c>/request</c> endpoint (configuration section <c>SeedRequest</c>): each
/// admitted request waits <see cref="HoldTime"/> and answers <c>done</c>.
/// </summary>
public sealed class SeedRequestOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "SeedRequest";

    /// <summary>How long each admitted request holds its permit. Zero to 10 min; default 2 s, as in the seed.</summary>
    public TimeSpan HoldTime { get; set; } = TimeSpan.FromSeconds(2);
}
