using System.Diagnostics.Metrics;
using Backpressure.AspNetCore;

namespace Backpressure.Server;

/// <summary>
/// p50 and p99 of admitted requests' durations over the last few seconds, per policy, for
/// <c>/stats</c> and the dashboard. It listens to the <c>backpressure.request.duration</c>
/// histogram (Prometheus gets the full histogram from <c>/metrics</c>) and keeps the latest
/// samples in a ring per policy, so memory is fixed whatever the load.
/// </summary>
internal sealed class RecentLatencies : IDisposable
{
    private const int Capacity = 4096;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    private readonly MeterListener _listener = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, Ring> _rings = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public RecentLatencies(BackpressureMetrics metrics, TimeProvider time)
    {
        _time = time;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == metrics.Meter && instrument.Name == "backpressure.request.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>Per policy: p50 and p99 in milliseconds and the number of samples, over the last 5 s.</summary>
    public IReadOnlyDictionary<string, LatencySnapshot> GetSnapshot()
    {
        long now = _time.GetTimestamp();
        lock (_gate)
        {
            return _rings.ToDictionary(r => r.Key, r => r.Value.Snapshot(now, _time));
        }
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, double seconds, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string policy = "";
        foreach (var tag in tags)
        {
            if (tag.Key == BackpressureMeter.PolicyTag)
            {
                policy = tag.Value as string ?? "";
            }
        }

        long now = _time.GetTimestamp();
        lock (_gate)
        {
            if (!_rings.TryGetValue(policy, out Ring? ring))
            {
                _rings[policy] = ring = new Ring();
            }

            ring.Add(now, seconds);
        }
    }

    private sealed class Ring
    {
        private readonly long[] _at = new long[Capacity];
        private readonly double[] _seconds = new double[Capacity];
        private int _next;
        private int _count;

        public void Add(long at, double seconds)
        {
            _at[_next] = at;
            _seconds[_next] = seconds;
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
        }

        public LatencySnapshot Snapshot(long now, TimeProvider time)
        {
            var recent = new List<double>(_count);
            for (int i = 0; i < _count; i++)
            {
                if (time.GetElapsedTime(_at[i], now) <= Window)
                {
                    recent.Add(_seconds[i] * 1000);
                }
            }

            if (recent.Count == 0)
            {
                return new LatencySnapshot(0, 0, 0);
            }

            recent.Sort();
            return new LatencySnapshot(At(recent, 0.50), At(recent, 0.99), recent.Count);
        }

        private static double At(List<double> sorted, double quantile) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(quantile * sorted.Count) - 1)];
    }
}
