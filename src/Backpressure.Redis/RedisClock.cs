namespace Backpressure.Redis;

/// <summary>Whose clock a Redis limiter's scripts measure time by.</summary>
public enum RedisClock
{
    /// <summary>Redis's own (<c>TIME</c>, inside the script): one timeline for every instance, whatever their clocks say. The default.</summary>
    Server,

    /// <summary>
    /// The application's <see cref="TimeProvider"/>, passed to the script: for managed Redis offerings
    /// that refuse <c>TIME</c> in scripts. Instances' clocks must then agree; a fast clock admits early.
    /// </summary>
    Application,
}
