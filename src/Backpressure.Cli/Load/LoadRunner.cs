using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Backpressure.Http;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Backpressure.Cli.Load;

/// <summary>
/// Fires requests like hey: <see cref="LoadSettings.Concurrency"/> workers, each sending its share
/// one after another over a pool of as many connections. With <see cref="LoadSettings.RetryAfter"/>
/// a refused request is retried by Polly's HTTP retry strategy after the wait the server asked for (<see cref="ServerRetryAfter"/>).
/// </summary>
internal sealed class LoadRunner(LoadSettings settings, TimeProvider timeProvider)
{
    private static readonly TimeSpan SpinThreshold = TimeSpan.FromMilliseconds(1);
    private static readonly HttpRequestOptionsKey<LoadResult> TallyOption = new("bp.tally");
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
        // Backpressure's client handler sits in front of the connections: what it refuses never leaves this process, and
        // a counter behind it sees every request that does. With the throttle it fails calls fast while a Retry-After
        // lasts (holding them would bend the open-loop schedule) and retries within its budget; without it, retries are blind.
        // A closed-loop worker then waits out the Retry-After of a call refused locally (see RunWorkerAsync).
        using HttpMessageHandler sender = settings.ClientThrottle || settings.ClientRetries > 0
            ? new Backpressure.Http.ClientBackpressureHandler(ClientOptions(settings), timeProvider) { InnerHandler = new SentCounter(handler) }
            : handler;
        using var client = new HttpClient(sender, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        if (settings.Duration is { } duration)
        {
            stop.CancelAfter(settings.Warmup + duration);
        }

        long started = timeProvider.GetTimestamp();
        if (settings.Rate > 0)
        {
            LoadResult openLoop = await RunOpenLoopAsync(client, started, stop.Token, abort).ConfigureAwait(false);
            openLoop.Total = timeProvider.GetElapsedTime(started);
            openLoop.SpreadTimes();
            return openLoop;
        }

        var workers = Enumerable.Range(0, settings.Concurrency)
            .Select(index => Task.Run(() => RunWorkerAsync(client, started, ShareOf(index), stop.Token, abort), abort))
            .ToArray();
        LoadResult[] tallies = await Task.WhenAll(workers).ConfigureAwait(false);

        var result = new LoadResult { Total = timeProvider.GetElapsedTime(started) };
        result.Window = result.Total > settings.Warmup ? result.Total - settings.Warmup : TimeSpan.Zero;
        foreach (LoadResult tally in tallies)
        {
            result.Add(tally);
        }

        result.SpreadTimes();
        return result;
    }

    /// <summary>
    /// Open loop (wrk2's constant throughput): request i is due at start + i / rate whatever the
    /// server does, and its latency is measured from that due time, so a server that falls behind
    /// shows its queueing in the latencies instead of slowing the load down (coordinated omission).
    /// </summary>
    /// <remarks>
    /// The schedule runs on a thread of its own rather than on timers: .NET's timers fire up to a
    /// millisecond or two late (or early) and their callbacks queue behind the responses being
    /// read, and either would show up as the server's latency.
    /// </remarks>
    private async Task<LoadResult> RunOpenLoopAsync(HttpClient client, long start, CancellationToken stop, CancellationToken abort)
    {
        var tally = new LoadResult();
        var discarded = new LoadResult();
        var sent = new List<Task>();
        long warmup = (long)Math.Ceiling(settings.Warmup.TotalSeconds * settings.Rate);
        long count = settings.Duration is null ? warmup + settings.Requests : long.MaxValue;
        long i = 0;
        var scheduled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var schedule = new Thread(() =>
        {
            try
            {
                for (; i < count && !stop.IsCancellationRequested; i++)
                {
                    TimeSpan due = TimeSpan.FromSeconds(i / settings.Rate);
                    if (!WaitUntil(start, due, stop))
                    {
                        break;
                    }

                    long intended = start + (long)(due.TotalSeconds * timeProvider.TimestampFrequency);
                    bool counted = i >= warmup;
                    if (counted)
                    {
                        tally.SendLag.Record(timeProvider.GetElapsedTime(start) - due);
                    }

                    sent.Add(SendAndCountAsync(client, counted ? tally : discarded, counted, intended, stop, abort));
                }

                scheduled.SetResult();
            }
            catch (Exception e)
            {
                scheduled.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "bp load schedule",
        };
        schedule.Start();
        await scheduled.Task.ConfigureAwait(false);
        await Task.WhenAll(sent).ConfigureAwait(false);
        tally.Window = TimeSpan.FromSeconds(Math.Max(0, i - warmup) / settings.Rate);
        return tally;
    }

    /// <summary>
    /// Blocks until <paramref name="due"/> after <paramref name="start"/>, never returning early:
    /// it sleeps to within a millisecond (the sleep's granularity) and spins the rest. False when
    /// stopped first.
    /// </summary>
    private bool WaitUntil(long start, TimeSpan due, CancellationToken stop)
    {
        TimeSpan wait = due - timeProvider.GetElapsedTime(start);
        if (wait > SpinThreshold && stop.WaitHandle.WaitOne(wait - SpinThreshold))
        {
            return false;
        }

        var spinner = default(SpinWait);
        while (timeProvider.GetElapsedTime(start) < due)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }

        return !stop.IsCancellationRequested;
    }

    private async Task SendAndCountAsync(HttpClient client, LoadResult tally, bool counted, long intended, CancellationToken stop, CancellationToken abort)
    {
        _ = await SendAsync(client, ResiliencePipeline<HttpResponseMessage>.Empty, tally, intended, stop, abort).ConfigureAwait(false);
        if (counted)
        {
            Interlocked.Increment(ref _completed);
        }
    }

    private long ShareOf(int worker) => settings.Duration is null
        ? (settings.Requests / settings.Concurrency) + (worker < settings.Requests % settings.Concurrency ? 1 : 0)
        : long.MaxValue;

    private async Task<LoadResult> RunWorkerAsync(HttpClient client, long runStart, long share, CancellationToken stop, CancellationToken abort)
    {
        var tally = new LoadResult();
        var discarded = new LoadResult();
        ResiliencePipeline<HttpResponseMessage> pipeline = BuildPipeline(tally);
        ResiliencePipeline<HttpResponseMessage> warmupPipeline = BuildPipeline(discarded);
        long workerStart = timeProvider.GetTimestamp();
        long attempts = 0;
        for (long sent = 0; sent < share && !stop.IsCancellationRequested; attempts++)
        {
            if (settings.RatePerWorker > 0)
            {
                TimeSpan due = TimeSpan.FromSeconds(attempts / settings.RatePerWorker) - timeProvider.GetElapsedTime(workerStart);
                if (due > TimeSpan.Zero && !await DelayUnlessStopped(due, stop).ConfigureAwait(false))
                {
                    break;
                }
            }

            bool warmingUp = timeProvider.GetElapsedTime(runStart) < settings.Warmup;
            TimeSpan comeBackAfter = await SendAsync(
                client, warmingUp ? warmupPipeline : pipeline, warmingUp ? discarded : tally, timeProvider.GetTimestamp(), stop, abort).ConfigureAwait(false);
            if (!warmingUp)
            {
                Interlocked.Increment(ref _completed);
                sent++;
            }

            // A call the client handler refused itself comes back at once, with the Retry-After it chose. A worker is
            // an application: it waits that out, as one using the handler should. Calling again at once would spin
            // without yielding its thread, and the throttle, which counts the calls it refuses among the requests
            // (Google's SRE book), would then refuse for good: with every refusal answered by another request at
            // once, its rejection probability's only fixed point is 1 whenever the server accepts under half.
            if (comeBackAfter > TimeSpan.Zero && !await DelayUnlessStopped(comeBackAfter, stop).ConfigureAwait(false))
            {
                break;
            }
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
                // Polly's ShouldRetryAfterHeader reads Retry-After's whole seconds only; our servers' Retry-After-Ms says
                // the wait exactly (a concurrency limit's next permit is often milliseconds away). Without either header
                // Polly's exponential backoff below applies.
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } response ? ServerRetryAfter.Read(response, timeProvider) : null),
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
    /// <returns>The <c>Retry-After</c> of a call the client handler refused itself; zero for any other end.</returns>
    private async Task<TimeSpan> SendAsync(
        HttpClient client, ResiliencePipeline<HttpResponseMessage> pipeline, LoadResult tally, long started,
        CancellationToken stop, CancellationToken abort)
    {
        var last = new LastAttempt
        {
            Priority = settings.PickPriority(),
            User = settings.Users > 0 ? $"user-{Random.Shared.Next(settings.Users)}" : null,
        };
        LoadResult? ofPriority;
        lock (tally)
        {
            ofPriority = last.Priority is { } priority ? tally.PriorityTally(priority) : null;
        }

        try
        {
            // The stop token only ends retry waits; a request already sent runs to its end, as in hey.
            using HttpResponseMessage response = await pipeline.ExecuteAsync(
                    _ => SendOnceAsync(client, last, tally, abort), stop)
                .ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            lock (tally)
            {
                tally.Timeouts++;
                if (ofPriority is not null)
                {
                    ofPriority.Timeouts++;
                }
            }

            return TimeSpan.Zero;
        }
        catch (HttpRequestException e)
        {
            string kind = Describe(e);
            lock (tally)
            {
                tally.Errors[kind] = tally.Errors.GetValueOrDefault(kind) + 1;
                if (ofPriority is not null)
                {
                    ofPriority.Errors[kind] = ofPriority.Errors.GetValueOrDefault(kind) + 1;
                }
            }

            return TimeSpan.Zero;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !abort.IsCancellationRequested && last.Status != 0)
        {
            // The run ended during a retry wait: the request ends as its last attempt did.
        }

        TimeSpan latency = timeProvider.GetElapsedTime(started);
        lock (tally)
        {
            Record(tally, last, latency);
            if (ofPriority is not null)
            {
                Record(ofPriority, last, latency);
            }
        }

        return last.ComeBackAfter;
    }

    private static void Record(LoadResult tally, LastAttempt last, TimeSpan latency)
    {
        tally.StatusCodes[last.Status] = tally.StatusCodes.GetValueOrDefault(last.Status) + 1;
        if (last.Local)
        {
            tally.LocallyRefused++;
        }

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

    private async ValueTask<HttpResponseMessage> SendOnceAsync(HttpClient client, LastAttempt last, LoadResult tally, CancellationToken abort)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(abort);
        attempt.CancelAfter(settings.Timeout);
        using var request = new HttpRequestMessage(settings.Method, settings.Url);
        request.Options.Set(TallyOption, tally);
        if (last.Priority is { } priority)
        {
            request.Headers.TryAddWithoutValidation(settings.MixHeader, priority);
        }

        if (last.User is { } user)
        {
            request.Headers.TryAddWithoutValidation("X-Client-Id", user);
        }

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
            last.Local = response.Headers.Contains(Backpressure.Http.ClientBackpressureHandler.LocalRefusalHeader);
            last.ComeBackAfter = last.Local ? ServerRetryAfter.Read(response, timeProvider) ?? TimeSpan.Zero : TimeSpan.Zero;
            return response;
        }
        catch (OperationCanceledException e) when (!abort.IsCancellationRequested)
        {
            // Our attempt's timer, or the handler's ConnectTimeout, which cancels (a TaskCanceledException
            // around a TimeoutException) and can fire first when a request waited for a connection.
            response?.Dispose();
            throw new TimeoutException($"No complete response within {settings.Timeout}.", e);
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

    private static Backpressure.Http.HttpClientBackpressureOptions ClientOptions(LoadSettings settings) => settings.ClientThrottle
        ? new() { MaxRetries = settings.ClientRetries, RetryAfter = Backpressure.Http.RetryAfterHandling.FailFast }
        : new()
        {
            Throttle = false,
            MaxRetries = settings.ClientRetries,
            RetryAfter = Backpressure.Http.RetryAfterHandling.Ignore,
            RetryDelay = TimeSpan.FromMilliseconds(50),
            RetryBudget = new() { RetryRatio = 1, MinRetriesPerWindow = 1_000_000 },
        };

    /// <summary>Counts, in the tally the request carries, every request that goes out to the server (retries included).</summary>
    private sealed class SentCounter(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Options.TryGetValue(TallyOption, out LoadResult? tally))
            {
                lock (tally)
                {
                    tally.Sent++;
                }
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class LastAttempt
    {
        public bool Local { get; set; }

        /// <summary>The <c>Retry-After</c> of a local refusal; zero for any other answer.</summary>
        public TimeSpan ComeBackAfter { get; set; }

        public string? Priority { get; init; }

        public string? User { get; init; }

        public int Status { get; set; }

        public long Bytes { get; set; }
    }
}
