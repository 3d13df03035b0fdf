using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Backpressure.Redis;

/// <summary>
/// One of the limiters' Lua scripts (with the shared prelude), sent as <c>EVALSHA</c> by its SHA-1.
/// The first call on a server that does not know it yet gets <c>NOSCRIPT</c> and sends the text
/// once with <c>EVAL</c>, which caches it there; a restarted Redis is handled the same way.
/// </summary>
internal sealed class RedisScript
{
    private static readonly string Prelude = Read("prelude");

    private readonly byte[] _sha1;

    private RedisScript(string name)
    {
        Name = name;
        Text = Prelude + Read(name);
#pragma warning disable CA5350 // Redis names cached scripts by their SHA-1; nothing here relies on it for security.
        _sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(Text));
#pragma warning restore CA5350
    }

    public static RedisScript TokenBucket { get; } = new("token_bucket");

    public static RedisScript FixedWindow { get; } = new("fixed_window");

    public static RedisScript SlidingWindow { get; } = new("sliding_window");

    public static RedisScript LeakyBucket { get; } = new("leaky_bucket");

    public static RedisScript GaugeAcquire { get; } = new("gauge_acquire");

    public static RedisScript GaugeRelease { get; } = new("gauge_release");

    public static RedisScript GaugeRenew { get; } = new("gauge_renew");

    /// <summary>Every script, for loading them all at start-up.</summary>
    public static IReadOnlyList<RedisScript> All { get; } = [TokenBucket, FixedWindow, SlidingWindow, LeakyBucket, GaugeAcquire, GaugeRelease, GaugeRenew];

    public string Name { get; }

    public string Text { get; }

    /// <summary>Runs the script; its answer is always <c>{admitted, microseconds, remaining}</c>.</summary>
    public async Task<RedisDecision> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] arguments)
    {
        RedisResult result;
        try
        {
            result = await database.ScriptEvaluateAsync(_sha1, keys, arguments).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            result = await database.ScriptEvaluateAsync(Text, keys, arguments).ConfigureAwait(false);
        }

        var parts = (RedisResult[])result!;
        return new RedisDecision((long)parts[0] == 1, (long)parts[1], (long)parts[2]);
    }

    private static string Read(string name)
    {
        using Stream stream = typeof(RedisScript).Assembly.GetManifestResourceStream($"Backpressure.Redis.Scripts.{name}.lua")
            ?? throw new InvalidOperationException($"The script {name}.lua is not embedded.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
