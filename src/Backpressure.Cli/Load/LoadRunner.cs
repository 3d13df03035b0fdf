using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Backpressure.Cli.Load;

/// <summary>
/// Fires requests like hey: <see cref="LoadSettings.Concurrency"/> workers, each sending its share
/// one after another over a pool of as many connections. With <see cref="LoadSettings.RetryAfter"/>
/// a refused request is retried by Polly's HTTP retry strategy, which honours <c>Retry-After</c>.
/// </summary>
internal sealed class LoadRunner(LoadSettings settings, TimeProvider timeProvider)
{
    private long _completed;

    /// <summary>Requests finished so far, for a progress display.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Runs the load. <paramref name="abort"/> stops everything at once (Ctrl+C); unfinished requests are not counted.</summary>
    public async Task<LoadResult> RunAsync(CancellationToken abort = default)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = settings.Concurrency,
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = settings.Timeout,
        };
        using var client = new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        if (settings.Duration is { } duration)
        {
            stop.CancelAfter(duration);
        }

        long started = timeProvider.GetTimestamp();
        if (settings.Rate > 0)
        {
            LoadResult openLoop = await RunOpenLoopAsync(client, started, stop.Token, abort).ConfigureAwait(false);
            openLoop.Total = timeProvider.GetElapsedTime(started);
            return openLoop;
        }

        var workers = Enumerable.Range(0, settings.Concurrency)
            .Select(index => Task.Run(() => RunWorkerAsync(client, ShareOf(index), stop.Token, abort), abort))
            .ToArray();
        LoadResult[] tallies = await Task.WhenAll(workers).ConfigureAwait(false);

        var result = new LoadResult { Total = timeProvider.GetElapsedTime(started) };
        foreach (LoadResult tally in tallies)
        {
            result.Add(tally);
        }

        return result;
    }

    /// <summary>
    /// Open loop (wrk2's constant throughput): request i is due at start + i / rate whatever the
    /// server does, and its latency is measured from that due time, so a server that falls behind
    /// shows its queueing in the latencies instead of slowing the load down (coordinated omission).
    /// </summary>
    private async Task<LoadResult> RunOpenLoopAsync(HttpClient client, long start, CancellationToken stop, CancellationToken abort)
    {
        var tally = new LoadResult();
        var sent = new List<Task>();
        long count = settings.Duration is null ? settings.Requests : long.MaxValue;
        for (long i = 0; i < count && !stop.IsCancellationRequested; i++)
        {
            TimeSpan due = TimeSpan.FromSeconds(i / settings.Rate);
            TimeSpan wait = due - timeProvider.GetElapsedTime(start);
            if (wait > TimeSpan.Zero && !await DelayUnlessStopped(wait, stop).ConfigureAwait(false))
            {
                break;
            }

            long intended = start + (long)(due.TotalSeconds * timeProvider.TimestampFrequency);
            sent.Add(SendAndCountAsync(client, tally, intended, stop, abort));
        }

        await Task.WhenAll(sent).ConfigureAwait(false);
        return tally;
    }

    private async Task SendAndCountAsync(HttpClient client, LoadResult tally, long intended, CancellationToken stop, CancellationToken abort)
    {
        await SendAsync(client, ResiliencePipeline<HttpResponseMessage>.Empty, tally, intended, stop, abort).ConfigureAwait(false);
        Interlocked.Increment(ref _completed);
    }

    private long ShareOf(int worker) => settings.Duration is null
        ? (settings.Requests / settings.Concurrency) + (worker < settings.Requests % settings.Concurrency ? 1 : 0)
        : long.MaxValue;

    private async Task<LoadResult> RunWorkerAsync(HttpClient client, long share, CancellationToken stop, CancellationToken abort)
    {
        var tally = new LoadResult();
        ResiliencePipeline<HttpResponseMessage> pipeline = BuildPipeline(tally);
        long workerStart = timeProvider.GetTimestamp();
        for (long sent = 0; sent < share && !stop.IsCancellationRequested; sent++)
        {
            if (settings.RatePerWorker > 0)
            {
                TimeSpan due = TimeSpan.FromSeconds(sent / settings.RatePerWorker) - timeProvider.GetElapsedTime(workerStart);
                if (due > TimeSpan.Zero && !await DelayUnlessStopped(due, stop).ConfigureAwait(false))
                {
                    break;
                }
            }

            await SendAsync(client, pipeline, tally, timeProvider.GetTimestamp(), stop, abort).ConfigureAwait(false);
            Interlocked.Increment(ref _completed);
        }

        return tally;
    }

    private async Task<bool> DelayUnlessStopped(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, timeProvider, stop).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private ResiliencePipeline<HttpResponseMessage> BuildPipeline(LoadResult tally)
    {
        if (!settings.RetryAfter)
        {
            return ResiliencePipeline<HttpResponseMessage>.Empty;
        }

        return new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider }
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = settings.MaxRetries,
                ShouldRetryAfterHeader = true,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(250),
                MaxDelay = TimeSpan.FromSeconds(60),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result?.StatusCode == HttpStatusCode.TooManyRequests),
                OnRetry = args =>
                {
                    tally.Retries++;
                    tally.RetryWait += args.RetryDelay;
                    return default;
                },
            })
            .Build();
    }

    /// <summary>
    /// Sends one request (with its retries) and records how it ended. Latency runs from
    /// <paramref name="started"/>: the moment of sending, or in open-loop mode the moment the
    /// schedule meant it to be sent. Records under a lock on <paramref name="tally"/>, which is
    /// uncontended for a worker's own tally and shared in open-loop mode.
    /// </summary>
    private async Task SendAsync(
        HttpClient client, ResiliencePipeline<HttpResponseMessage> pipeline, LoadResult tally, long started,
        CancellationToken stop, CancellationToken abort)
    {
        var last = new LastAttempt();
        try
        {
            // The stop token only ends retry waits; a request already sent runs to its end, as in hey.
            using HttpResponseMessage response = await pipeline.ExecuteAsync(
                    _ => SendOnceAsync(client, last, abort), stop)
                .ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            lock (tally)
            {
                tally.Timeouts++;
            }

            return;
        }
        catch (HttpRequestException e)
        {
            string kind = Describe(e);
            lock (tally)
            {
                tally.Errors[kind] = tally.Errors.GetValueOrDefault(kind) + 1;
            }

            return;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !abort.IsCancellationRequested && last.Status != 0)
        {
            // The run ended during a retry wait: the request ends as its last attempt did.
        }

        TimeSpan latency = timeProvider.GetElapsedTime(started);
        lock (tally)
        {
            Record(tally, last, latency);
        }
    }

    private static void Record(LoadResult tally, LastAttempt last, TimeSpan latency)
    {
        tally.StatusCodes[last.Status] = tally.StatusCodes.GetValueOrDefault(last.Status) + 1;
        tally.TotalBytes += last.Bytes;
        tally.Responses.Record(latency);
        if (last.Status is >= 200 and < 300)
        {
            tally.Successes.Record(latency);
        }
        else if (last.Status == 429)
        {
            tally.Refusals.Record(latency);
        }
    }

    private async ValueTask<HttpResponseMessage> SendOnceAsync(HttpClient client, LastAttempt last, CancellationToken abort)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(abort);
        attempt.CancelAfter(settings.Timeout);
        using var request = new HttpRequestMessage(settings.Method, settings.Url);
        foreach (var (name, value) in settings.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        HttpResponseMessage? response = null;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token).ConfigureAwait(false);
            Stream body = await response.Content.ReadAsStreamAsync(attempt.Token).ConfigureAwait(false);
            long bytes = 0;
            int read;
            byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                while ((read = await body.ReadAsync(buffer, attempt.Token).ConfigureAwait(false)) > 0)
                {
                    bytes += read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            last.Status = (int)response.StatusCode;
            last.Bytes = bytes;
            return response;
        }
        catch (OperationCanceledException) when (attempt.IsCancellationRequested && !abort.IsCancellationRequested)
        {
            response?.Dispose();
            throw new TimeoutException($"No complete response within {settings.Timeout}.");
        }
        catch
        {
            response?.Dispose();
            throw;
        }
    }

    private static string Describe(HttpRequestException e) => e.InnerException switch
    {
        SocketException socket => $"{e.HttpRequestError}: {socket.SocketErrorCode}",
        IOException { InnerException: SocketException socket } => $"{e.HttpRequestError}: {socket.SocketErrorCode}",
        _ => e.HttpRequestError.ToString(),
    };

    private sealed class LastAttempt
    {
        public int Status { get; set; }

        public long Bytes { get; set; }
    }
}
