using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Backpressure.Redis;

/// <summary>
/// Connects to Redis and loads the limiters' scripts before the server takes requests, so a cold
/// instance's first checks do not outlast the timeout and fall to the failure policy. Redis being
/// down at start is not fatal: it is logged, and the failure policy answers until Redis is back.
/// </summary>
internal sealed partial class RedisWarmUp(RedisStore store, ILogger<RedisWarmUp> logger) : IHostedService
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (!await store.WarmUpAsync(cancellationToken).WaitAsync(Patience, cancellationToken))
            {
                NotWarmed(logger, 0, null);
            }
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            NotWarmed(logger, Patience.TotalSeconds, e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Redis was not reachable at start-up (waited {Seconds} s); the rate limits follow the failure policy until it is")]
    private static partial void NotWarmed(ILogger logger, double seconds, Exception? error);
}
