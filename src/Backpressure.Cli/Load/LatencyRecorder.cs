using HdrHistogram;
using HdrHistogram.Iteration;

namespace Backpressure.Cli.Load;

/// <summary>
/// Latencies in microseconds: an HDR histogram (three significant digits, up to one hour) for
/// percentiles and buckets, and exact count, sum, fastest and slowest. Not thread-safe: each
/// worker records into its own, and the run merges them.
/// </summary>
internal sealed class LatencyRecorder
{
    private const long HighestMicroseconds = 3_600_000_000;

    public LongHistogram Histogram { get; } = new(HighestMicroseconds, 3);

    public long Count { get; private set; }

    public TimeSpan Sum { get; private set; }

    public TimeSpan Fastest { get; private set; } = TimeSpan.MaxValue;

    public TimeSpan Slowest { get; private set; }

    public TimeSpan Average => Count == 0 ? TimeSpan.Zero : Sum / Count;

    public void Record(TimeSpan latency)
    {
        Histogram.RecordValue(Math.Clamp((long)latency.TotalMicroseconds, 0, HighestMicroseconds));
        Count++;
        Sum += latency;
        Fastest = latency < Fastest ? latency : Fastest;
        Slowest = latency > Slowest ? latency : Slowest;
    }

    public void Add(LatencyRecorder other)
    {
        Histogram.Add(other.Histogram);
        Count += other.Count;
        Sum += other.Sum;
        Fastest = other.Fastest < Fastest ? other.Fastest : Fastest;
        Slowest = other.Slowest > Slowest ? other.Slowest : Slowest;
    }

    /// <summary>
    /// The latency at or under which <paramref name="percentile"/> % of calls finished, never outside
    /// [<see cref="Fastest"/>, <see cref="Slowest"/>]; zero when none did.
    /// </summary>
    public TimeSpan Percentile(double percentile)
    {
        if (Count == 0)
        {
            return TimeSpan.Zero;
        }

        // The histogram answers with the top of the value's bucket (up to 0.1 % above it), which can
        // put a p99 above the slowest call actually seen; the exact extremes bound it.
        var value = TimeSpan.FromMicroseconds(Histogram.GetValueAtPercentile(percentile));
        return value < Fastest ? Fastest : value > Slowest ? Slowest : value;
    }

    /// <summary>hey's response-time histogram: <paramref name="buckets"/> equal steps from fastest to slowest, each counting the calls up to its mark.</summary>
    public IReadOnlyList<(TimeSpan Mark, long Count)> Buckets(int buckets = 10)
    {
        if (Count == 0)
        {
            return [];
        }

        var marks = new (TimeSpan Mark, long Count)[buckets + 1];
        TimeSpan step = (Slowest - Fastest) / buckets;
        for (int i = 0; i <= buckets; i++)
        {
            marks[i] = (i == buckets ? Slowest : Fastest + (step * i), 0);
        }

        foreach (HistogramIterationValue value in Histogram.RecordedValues())
        {
            var at = TimeSpan.FromMicroseconds(Histogram.LowestEquivalentValue(value.ValueIteratedTo));
            int bucket = Array.FindIndex(marks, m => at <= m.Mark);
            bucket = bucket < 0 ? buckets : bucket;
            marks[bucket].Count += value.CountAtValueIteratedTo;
        }

        return marks;
    }
}
