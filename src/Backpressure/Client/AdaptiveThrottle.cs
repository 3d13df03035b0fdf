namespace Backpressure.Client;

/// <summary>
/// Client-side adaptive throttling, as in Google's SRE book (chapter 21, "Handling Overload"): a client counts the
/// requests it tried and the ones the server accepted over a sliding window, and refuses a new request locally with
/// probability <c>max(0, (requests − K · accepts) / (requests + 1))</c>. A client that is mostly refused stops sending
/// most of its requests before they cost the server anything, and sends again as soon as the server accepts.
/// </summary>
/// <remarks>
/// Nothing is refused while the window holds fewer than <see cref="AdaptiveThrottleOptions.MinRequests"/> requests.
/// Requests refused locally count as requests, as the book's formula needs: under a long outage the refusal
/// probability approaches 1 but never reaches it, so a trickle still probes the server. Thread-safe (one lock, held
/// for a few additions). One throttle per destination: a server that refuses says nothing of another.
/// </remarks>
public sealed class AdaptiveThrottle
{
    private const int Buckets = 24;

    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private readonly double _k;
    private readonly int _minRequests;
    private readonly SlidingCount _requests;
    private readonly SlidingCount _accepts;
    private readonly Lock _gate = new();

    /// <summary>Creates a throttle.</summary>
    /// <param name="options">K and the window; null for the book's defaults. Validated here.</param>
    /// <param name="timeProvider">The clock of the window; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="random">Draws from [0, 1) for the refusal decision; <see cref="Random.Shared"/> when null (a seeded one makes runs repeatable).</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public AdaptiveThrottle(AdaptiveThrottleOptions? options = null, TimeProvider? timeProvider = null, Func<double>? random = null)
    {
        options ??= new AdaptiveThrottleOptions();
        options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _random = random ?? Random.Shared.NextDouble;
        _k = options.K;
        _minRequests = options.MinRequests;
        _requests = new SlidingCount(options.Window, Buckets, _time);
        _accepts = new SlidingCount(options.Window, Buckets, _time);
    }

    /// <summary>The probability that a request now is refused locally.</summary>
    public double RefusalProbability
    {
        get
        {
            lock (_gate)
            {
                long now = _time.GetTimestamp();
                return Probability(_requests.Sum(now), _accepts.Sum(now));
            }
        }
    }

    /// <summary>Counts a request and decides whether it may be sent: false means refuse it locally.</summary>
    public bool TryAcquire()
    {
        double draw = _random();
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            double refuse = Probability(_requests.Sum(now), _accepts.Sum(now));
            _requests.Add(now);
            return draw >= refuse;
        }
    }

    /// <summary>Counts a request the server accepted (answered other than "overloaded").</summary>
    public void RecordAccepted()
    {
        lock (_gate)
        {
            _accepts.Add(_time.GetTimestamp());
        }
    }

    private double Probability(long requests, long accepts) =>
        requests < _minRequests ? 0 : Math.Max(0, (requests - (_k * accepts)) / (requests + 1));
}
