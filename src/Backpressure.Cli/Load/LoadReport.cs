using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Backpressure.Cli.Load;

/// <summary>Prints a <see cref="LoadResult"/> the way hey does, or as JSON for machines.</summary>
internal static class LoadReport
{
    private static readonly double[] Percentiles = [10, 25, 50, 75, 90, 95, 99];
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string ToText(LoadResult result)
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        LatencyRecorder all = result.Responses;
        text.AppendLine();
        text.AppendLine("Summary:");
        text.AppendLine(c, $"  Total:\t{Secs(result.Total)}");
        if (result.Window != result.Total)
        {
            text.AppendLine(c, $"  Measured:\t{Secs(result.Window)}");
        }

        text.AppendLine(c, $"  Slowest:\t{Secs(all.Count == 0 ? TimeSpan.Zero : all.Slowest)}");
        text.AppendLine(c, $"  Fastest:\t{Secs(all.Count == 0 ? TimeSpan.Zero : all.Fastest)}");
        text.AppendLine(c, $"  Average:\t{Secs(all.Average)}");
        text.AppendLine(c, $"  Requests/sec:\t{result.RequestsPerSecond:F4}");
        text.AppendLine();
        text.AppendLine(c, $"  Total data:\t{result.TotalBytes} bytes");
        text.AppendLine(c, $"  Size/request:\t{(all.Count == 0 ? 0 : result.TotalBytes / all.Count)} bytes");

        var buckets = all.Buckets();
        if (buckets.Count > 0)
        {
            long most = buckets.Max(b => b.Count);
            text.AppendLine();
            text.AppendLine("Response time histogram:");
            foreach (var (mark, count) in buckets)
            {
                int bar = most == 0 ? 0 : (int)((count * 40) / most);
                text.AppendLine(c, $"  {mark.TotalSeconds:F3} [{count}]\t|{new string('■', bar)}");
            }

            text.AppendLine();
            text.AppendLine();
            text.AppendLine("Latency distribution:");
            foreach (double p in Percentiles)
            {
                text.AppendLine(c, $"  {p}% in {all.Percentile(p).TotalSeconds:F4} secs");
            }
        }

        text.AppendLine();
        text.AppendLine("Status code distribution:");
        foreach (var (status, count) in result.StatusCodes.OrderBy(s => s.Key))
        {
            text.AppendLine(c, $"  [{status}]\t{count} responses");
        }

        if (result.Errors.Count > 0 || result.Timeouts > 0)
        {
            text.AppendLine();
            text.AppendLine("Error distribution:");
            foreach (var (kind, count) in result.Errors.OrderByDescending(e => e.Value))
            {
                text.AppendLine(c, $"  [{count}]\t{kind}");
            }

            if (result.Timeouts > 0)
            {
                text.AppendLine(c, $"  [{result.Timeouts}]\tTimeout");
            }
        }

        if (result.SendLag.Count > 0)
        {
            text.AppendLine();
            text.AppendLine(c, $"Send lag:\tp50 {Secs(result.SendLag.Percentile(50))}, p99 {Secs(result.SendLag.Percentile(99))}, slowest {Secs(result.SendLag.Slowest)} (how late requests left against the schedule; part of every latency above)");
        }

        if (result.Sent > 0)
        {
            text.AppendLine();
            text.AppendLine(c, $"Sent to the server:\t{result.Sent} requests for {result.Requests} calls ({(result.Requests == 0 ? 0 : (double)result.Sent / result.Requests):F2} per call), retries included");
        }

        if (result.LocallyRefused > 0)
        {
            text.AppendLine();
            text.AppendLine(c, $"Refused by the client:\t{result.LocallyRefused} of the 429s never left it (--client-throttle)");
        }

        if (result.ByPriority.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Per priority:");
            foreach (var (priority, tally) in result.ByPriority)
            {
                double okShare = tally.Requests == 0 ? 0 : 100.0 * tally.Succeeded / tally.Requests;
                text.AppendLine(c, $"  {priority}\t{tally.Requests} requests, {tally.Succeeded} ok ({okShare:F1} %), {tally.Refused} refused (429), {tally.ErrorCount} errors, {tally.Timeouts} timeouts; goodput {tally.Goodput:F2}/s; ok p50 {Secs(tally.Successes.Percentile(50))}, p99 {Secs(tally.Successes.Percentile(99))}");
            }
        }

        if (result.Retries > 0)
        {
            text.AppendLine();
            text.AppendLine(c, $"Retries:\t{result.Retries} (waited {Secs(result.RetryWait)} in all, as Retry-After asked)");
        }

        return text.ToString();
    }

    public static string ToJson(LoadResult result) => JsonSerializer.Serialize(ToDocument(result), Json);

    public static LoadDocument ToDocument(LoadResult result) => new(
        Requests: result.Requests,
        TotalSeconds: result.Total.TotalSeconds,
        WindowSeconds: result.Window.TotalSeconds,
        RequestsPerSecond: result.RequestsPerSecond,
        Succeeded: result.Succeeded,
        Refused: result.Refused,
        Errors: result.ErrorCount,
        Timeouts: result.Timeouts,
        LocallyRefused: result.LocallyRefused,
        Sent: result.Sent,
        GoodputPerSecond: result.Goodput,
        Retries: result.Retries,
        RetryWaitSeconds: result.RetryWait.TotalSeconds,
        TotalBytes: result.TotalBytes,
        StatusCodes: result.StatusCodes.OrderBy(s => s.Key).ToDictionary(s => s.Key.ToString(CultureInfo.InvariantCulture), s => s.Value),
        ErrorKinds: new Dictionary<string, long>(result.Errors),
        Latency: Summarise(result.Responses),
        SuccessLatency: Summarise(result.Successes),
        RefusalLatency: Summarise(result.Refusals),
        SendLag: Summarise(result.SendLag),
        Histogram: result.Responses.Buckets().Select(b => new BucketDocument(b.Mark.TotalSeconds, b.Count)).ToList(),
        ByPriority: result.ByPriority.ToDictionary(p => p.Key, p => ToDocument(p.Value), StringComparer.Ordinal));

    private static LatencyDocument Summarise(LatencyRecorder latencies) => new(
        Count: latencies.Count,
        FastestSeconds: latencies.Count == 0 ? 0 : latencies.Fastest.TotalSeconds,
        SlowestSeconds: latencies.Slowest.TotalSeconds,
        AverageSeconds: latencies.Average.TotalSeconds,
        Percentiles: Percentiles.ToDictionary(
            p => $"p{p.ToString(CultureInfo.InvariantCulture)}", p => latencies.Percentile(p).TotalSeconds));

    private static string Secs(TimeSpan t) => $"{t.TotalSeconds.ToString("F4", CultureInfo.InvariantCulture)} secs";
}

/// <summary>The JSON form of a load run (<c>bp load --output json</c>). Times in seconds.</summary>
internal sealed record LoadDocument(
    long Requests,
    double TotalSeconds,
    double WindowSeconds,
    double RequestsPerSecond,
    long Succeeded,
    long Refused,
    long Errors,
    long Timeouts,
    long LocallyRefused,
    long Sent,
    double GoodputPerSecond,
    long Retries,
    double RetryWaitSeconds,
    long TotalBytes,
    Dictionary<string, long> StatusCodes,
    Dictionary<string, long> ErrorKinds,
    LatencyDocument Latency,
    LatencyDocument SuccessLatency,
    LatencyDocument RefusalLatency,
    LatencyDocument SendLag,
    List<BucketDocument> Histogram,
    Dictionary<string, LoadDocument> ByPriority);

/// <summary>Latency of one class of calls, in seconds.</summary>
internal sealed record LatencyDocument(
    long Count, double FastestSeconds, double SlowestSeconds, double AverageSeconds, Dictionary<string, double> Percentiles);

/// <summary>One bar of the response-time histogram: calls at or under <see cref="MarkSeconds"/>.</summary>
internal sealed record BucketDocument(double MarkSeconds, long Count);
