namespace Backpressure.Redis;

/// <summary>A script's answer: admitted or not; the wait in microseconds (before retrying if refused, before the turn if admitted); the permits left.</summary>
internal readonly record struct RedisDecision(bool Admitted, long Microseconds, long Remaining);
