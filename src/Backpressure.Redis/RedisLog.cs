using Microsoft.Extensions.Logging;

namespace Backpressure.Redis;

internal static partial class RedisLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "Redis is unavailable to the rate limiters (failed, or slower than {TimeoutMilliseconds} ms); deciding by {Policy} until it answers again")]
    public static partial void Unavailable(ILogger logger, RedisFailurePolicy policy, double timeoutMilliseconds, Exception error);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Redis is available to the rate limiters again after {Seconds:0.0} s; limits are shared again")]
    public static partial void Restored(ILogger logger, double seconds);
}
