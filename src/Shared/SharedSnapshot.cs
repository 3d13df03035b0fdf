namespace Backpressure;

/// <summary>
/// Shared source, compiled into the libraries and the server that read several instruments from one
/// snapshot (as <c>OptionsValidator</c> is).
/// One snapshot for all the instruments read in one collection: taking it walks every live session,
/// stream or queue, and a scrape reads several instruments from the same snapshot. At most 100 ms old.
/// </summary>
internal sealed class SharedSnapshot<T>(Func<T> take, TimeProvider time)
    where T : class
{
    private static readonly TimeSpan FreshFor = TimeSpan.FromMilliseconds(100);

    private readonly Lock _gate = new();
    private T? _value;
    private long _takenAt;

    public T Get()
    {
        lock (_gate)
        {
            if (_value is null || time.GetElapsedTime(_takenAt) > FreshFor)
            {
                _value = take();
                _takenAt = time.GetTimestamp();
            }

            return _value;
        }
    }
}
