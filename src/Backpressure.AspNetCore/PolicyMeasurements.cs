using System.Diagnostics.Metrics;

namespace Backpressure.AspNetCore;

/// <summary>
/// One policy's share of <see cref="BackpressureMetrics"/>, resolved once when an endpoint is
/// wrapped. Decisions are counted in plain fields and reported when the meter is collected: a
/// tagged <c>Counter.Add</c> costs every listener a lookup of its tag set per request, which showed
/// in the HTTP overhead benchmark, while an interlocked increment does not. Waits and durations go
/// to the meter's histograms, and the clock is read only while one of them has a listener.
/// </summary>
internal sealed class PolicyMeasurements(BackpressureMetrics metrics, string policy)
{
    private long _admitted;
    private long _refused;
    private long _unavailable;

    public void Admitted() => Interlocked.Increment(ref _admitted);

    /// <summary>Counts a refusal: <c>unavailable</c> (503) when a shared store could not decide, else <c>refused</c> (429).</summary>
    public void Refused(bool unavailable) => Interlocked.Increment(ref unavailable ? ref _unavailable : ref _refused);

    /// <summary>A timestamp to measure from, or 0 when nobody listens to the histograms.</summary>
    public long Now() => metrics.TimesRequests ? metrics.Time.GetTimestamp() : 0;

    public void Waited(long startedAt)
    {
        if (startedAt != 0)
        {
            metrics.Waited(policy, startedAt);
        }
    }

    public void Held(long startedAt)
    {
        if (startedAt != 0)
        {
            metrics.Held(policy, startedAt);
        }
    }

    /// <summary>The counts so far, one measurement per outcome that has happened.</summary>
    public IEnumerable<Measurement<long>> Observe()
    {
        var tag = new KeyValuePair<string, object?>(BackpressureMeter.PolicyTag, policy);
        foreach (var (outcome, count) in new[] { ("admitted", Volatile.Read(ref _admitted)), ("refused", Volatile.Read(ref _refused)), ("unavailable", Volatile.Read(ref _unavailable)) })
        {
            if (count > 0)
            {
                yield return new Measurement<long>(count, tag, new KeyValuePair<string, object?>(BackpressureMeter.OutcomeTag, outcome));
            }
        }
    }
}
