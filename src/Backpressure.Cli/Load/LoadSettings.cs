namespace Backpressure.Cli.Load;

/// <summary>What <c>bp load</c> sends: hey's options, validated by the command line before a run.</summary>
internal sealed record LoadSettings
{
    /// <summary>hey's default <c>-n</c>.</summary>
    public const int DefaultRequests = 200;

    /// <summary>hey's default <c>-c</c>.</summary>
    public const int DefaultConcurrency = 50;

    /// <summary>The absolute http(s) URL every request goes to.</summary>
    public required Uri Url { get; init; }

    /// <summary>Total requests (hey's <c>-n</c>), shared as evenly as possible among the workers. Ignored with <see cref="Duration"/>.</summary>
    public int Requests { get; init; } = DefaultRequests;

    /// <summary>Workers sending one request after another (hey's <c>-c</c>); also the connection count.</summary>
    public int Concurrency { get; init; } = DefaultConcurrency;

    /// <summary>Run for this long instead of a request count (hey's <c>-z</c>); requests in flight at the end finish.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>
    /// A period before the measured run whose requests are sent but neither counted nor timed, so
    /// start-up (JIT, connection set-up, a server's first calls) stays out of the figures. It adds
    /// to <see cref="Duration"/> and to <see cref="Requests"/>; zero for none.
    /// </summary>
    public TimeSpan Warmup { get; init; }

    /// <summary>Most requests per second each worker sends (hey's <c>-q</c>); 0 for no limit.</summary>
    public double RatePerWorker { get; init; }

    /// <summary>
    /// Requests per second in all, sent open-loop on a fixed schedule whatever the server does,
    /// with latency measured from each request's due time; 0 for hey's closed loop of workers.
    /// <see cref="Concurrency"/> is then the connection count.
    /// </summary>
    public double Rate { get; init; }

    /// <summary>The HTTP method.</summary>
    public HttpMethod Method { get; init; } = HttpMethod.Get;

    /// <summary>Extra request headers.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>How long one attempt may take before it counts as a timeout.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Retry a 429 after the server's <c>Retry-After</c> (exponential backoff with jitter when it is missing).</summary>
    public bool RetryAfter { get; init; }

    /// <summary>The most retries of one request with <see cref="RetryAfter"/>.</summary>
    public int MaxRetries { get; init; } = 10;

    /// <summary>
    /// Priorities to send, each with its weight (<c>--mix critical=20,normal=30</c>): each request picks one at
    /// random by weight and names it in <see cref="MixHeader"/>; every figure is also reported per priority.
    /// Empty for none.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, int>> Mix { get; init; } = [];

    /// <summary>The header that carries a request's priority from <see cref="Mix"/>.</summary>
    public string MixHeader { get; init; } = "X-Criticality";

    /// <summary>Distinct users to send as (a random one per request, in <c>X-Client-Id: user-N</c>); 0 for no header.</summary>
    public int Users { get; init; }

    /// <summary>
    /// Send through Backpressure's client handler: throttle locally while the server keeps refusing, and fail calls fast
    /// while a <c>Retry-After</c> lasts. Calls it refuses never leave the client and are reported apart; in a closed loop
    /// the worker then waits out the <c>Retry-After</c> the handler gave them before its next call.
    /// </summary>
    public bool ClientThrottle { get; init; }

    /// <summary>
    /// Retries of a call answered 429 or 503, made by Backpressure's client handler: within its retry budget (and
    /// honouring Retry-After) with <see cref="ClientThrottle"/>, blindly (after about 50 ms, whatever the server said)
    /// without it. 0 for none. The report then says how many requests reached the server per call.
    /// </summary>
    public int ClientRetries { get; init; }

    /// <summary>Picks a request's priority by weight; null without a mix.</summary>
    public string? PickPriority()
    {
        if (Mix.Count == 0)
        {
            return null;
        }

        int draw = Random.Shared.Next(Mix.Sum(m => m.Value));
        foreach ((string name, int weight) in Mix)
        {
            if (draw < weight)
            {
                return name;
            }

            draw -= weight;
        }

        return Mix[^1].Key;
    }
}
