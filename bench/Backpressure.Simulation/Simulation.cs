using System.Threading.RateLimiting;
using Backpressure.Adaptive;
using Backpressure.Admission;

namespace Backpressure.Simulation;

/// <summary>
/// A discrete-event simulation of one contender in one scenario, on a <see cref="VirtualClock"/>:
/// every run of the same scenario and contender gives the same numbers, and ten simulated minutes
/// take about a second. The limiter is the real <see cref="AdaptiveConcurrencyLimiter"/>, and the waiting
/// room in front of it the real <see cref="WaitingRoom{TResource}"/> (its timers on the virtual clock, its
/// waits continued on the simulation's thread); only the service, the clients and the clock are simulated.
/// </summary>
public sealed class Simulation
{
    private const long TraceEveryTicks = TimeSpan.TicksPerMillisecond * 100;

    private readonly Scenario _scenario;
    private readonly Contender _contender;
    private readonly VirtualClock _clock = new();
    private readonly PriorityQueue<Event, (long Time, long Order)> _events = new();
    private readonly Queue<Request> _cpuQueue = new();
    private readonly Queue<Request> _downstreamQueue = new();
    private readonly List<Request> _heldDuringPause = [];
    private readonly Random _arrivals;
    private readonly Random _costs;
    private readonly AdaptiveConcurrencyLimiter? _limiter;
    private readonly AdaptiveConcurrencyLimiter?[] _limiters;
    private readonly WaitingRoom<Request>?[] _rooms;
    private readonly SimulationScheduler _scheduler = new();
    private readonly Random _kinds;
    private readonly int[] _userCohorts;
    private readonly List<SheddingOrder.Decision>[] _decisions;
    private readonly Backpressure.Client.AdaptiveThrottle? _throttle;
    private readonly Backpressure.Client.RetryBudget? _budget;
    private readonly Random _backoffs;
    private readonly PhaseCounters[] _phases;
    private readonly List<LimitPoint> _trace = [];
    private readonly long _timeoutTicks;
    private readonly long _sloTicks;
    private long _order;
    private ServiceShape _shape;
    private int _busyWorkers;
    private int _downstreamInUse;
    private int _inFlight;
    private long _pausedUntil = long.MinValue;
    private long _busyTicks;
    private long _busySince;
    private double _cpuUsage;
    private long _cpuWindowStart;
    private long _cpuWindowBusy;

    /// <summary>Prepares a run.</summary>
    public Simulation(Scenario scenario, Contender contender)
    {
        _scenario = scenario;
        _contender = contender;
        _arrivals = new Random(scenario.Seed);
        _costs = new Random(scenario.Seed * 7919);
        _shape = scenario.Shapes[0].Shape;
        _timeoutTicks = scenario.ClientTimeout.Ticks;
        _sloTicks = scenario.Slo.Ticks;
        _kinds = new Random(scenario.Seed * 104729);
        _backoffs = new Random(scenario.Seed * 15485863);
        var throttleDraws = new Random(scenario.Seed * 32452843);
        _throttle = contender.ClientThrottle ? new Backpressure.Client.AdaptiveThrottle(null, _clock, throttleDraws.NextDouble) : null;
        _budget = contender.RetryBudget ? new Backpressure.Client.RetryBudget(null, _clock) : null;
        _phases = [.. scenario.Phases.Select(_ => new PhaseCounters())];
        _decisions = [.. scenario.Phases.Select(_ => new List<SheddingOrder.Decision>())];
        _userCohorts = [.. Enumerable.Range(0, scenario.Users).Select(user => AdmissionPriority.CohortOf($"user-{user}"))];
        int limits = contender.PerClass ? Math.Max(1, scenario.Classes.Count) : 1;
        _limiters = new AdaptiveConcurrencyLimiter?[limits];
        _rooms = new WaitingRoom<Request>?[limits];
        for (int i = 0; i < limits && contender.CreateAlgorithm is { } create; i++)
        {
            _limiters[i] = new AdaptiveConcurrencyLimiter(
                create(() => _cpuUsage),
                new AdaptiveConcurrencyLimiterOptions { MaxSamplesPerSecond = int.MaxValue },
                _clock);
            if (contender.Room is { } room)
            {
                _rooms[i] = new WaitingRoom<Request>(_limiters[i]!, Describe, room(), _clock);
            }
        }

        _limiter = _limiters[0];
    }

    /// <summary>Runs a contender through a scenario.</summary>
    public static RunResult Run(Scenario scenario, Contender contender) => new Simulation(scenario, contender).Run();

    private RunResult Run()
    {
        long end = Seconds(_scenario.Duration);
        Schedule(0, EventKind.Trace);
        Schedule(0, EventKind.CpuSample);
        foreach ((double at, ServiceShape _) in _scenario.Shapes.Skip(1))
        {
            Schedule(Seconds(at), EventKind.ShapeChange);
        }

        foreach ((double at, double _) in _scenario.Pauses)
        {
            Schedule(Seconds(at), EventKind.PauseStart);
        }

        ScheduleNextArrival(0);
        while (true)
        {
            long nextEvent = _events.TryPeek(out _, out (long Time, long Order) peeked) ? peeked.Time : long.MaxValue;
            if (_clock.RunNextTimer(Math.Min(nextEvent, end)))
            {
                _scheduler.Drain();
                continue;
            }

            if (nextEvent > end)
            {
                break;
            }

            _events.TryDequeue(out Event? next, out (long Time, long Order) key);
            _clock.Now = key.Time;
            Handle(next!);
            _scheduler.Drain();
        }

        TimeSpan roomTarget = _rooms[0]?.Target ?? TimeSpan.Zero;
        for (int i = 0; i < _limiters.Length; i++)
        {
            if (_rooms[i] is { } room)
            {
                room.Dispose();
            }
            else
            {
                _limiters[i]?.Dispose();
            }
        }

        _scheduler.Drain();
        return new RunResult(
            _scenario,
            _contender,
            [.. _scenario.Phases.Select((phase, i) => _phases[i].Result(phase, _scenario) with
            {
                Shedding = _scenario.Mix.Count == 0 ? null : SheddingOrder.From(_decisions[i]),
            })],
            _trace)
        {
            RoomTarget = roomTarget,
        };
    }

    private AdmissionRequest Describe(Request request) => new(
        new AdmissionPriority(request.Criticality, request.Cohort),
        _scenario.SendDeadlines ? TimeSpan.FromTicks(_timeoutTicks - (_clock.Now - request.Arrived)) : null);

    private void Handle(Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Arrival when _scenario.Retries > 0 || _scenario.Calls:
                ScheduleNextArrival(_clock.Now);
                StartCall();
                break;
            case EventKind.Retry:
                SendAttempt(e.Request!.Call!);
                break;
            case EventKind.ClientTimeout:
                if (e.Request!.Call is { Done: false } call && call.Current == e.Request)
                {
                    AttemptFailed(call);
                }

                break;
            case EventKind.Arrival:
                ScheduleNextArrival(_clock.Now);
                var request = NewRequest();
                if (_clock.Now < _pausedUntil)
                {
                    _heldDuringPause.Add(request);
                }
                else
                {
                    Admit(request);
                }

                break;
            case EventKind.CpuDone:
                FinishCpu(e.Request!);
                break;
            case EventKind.DownstreamDone:
                FinishDownstream(e.Request!);
                break;
            case EventKind.ShapeChange:
                SetBusy(_busyWorkers);
                _shape = _scenario.ShapeAt(Seconds(_clock.Now) + 1e-9);
                StartWork();
                break;
            case EventKind.PauseStart:
                StartPause(e);
                break;
            case EventKind.PauseEnd:
                EndPause();
                break;
            case EventKind.Trace:
                _trace.Add(new LimitPoint(Seconds(_clock.Now), _limiter?.Limit ?? 0, _inFlight, _rooms[0]?.Threshold.Rank ?? 0, _rooms[0]?.QueuedCount ?? 0));
                Schedule(_clock.Now + TraceEveryTicks, EventKind.Trace);
                break;
            case EventKind.CpuSample:
                SampleCpu();
                break;
        }
    }

    /// <summary>A client's call: its first attempt, counted once as a call however many attempts it takes.</summary>
    private void StartCall()
    {
        var call = new ClientCall(_clock.Now, PhaseAt(_clock.Now));
        if (call.Phase is { } phase)
        {
            phase.Calls++;
        }

        _budget?.RecordRequest();
        SendAttempt(call);
    }

    /// <summary>
    /// Sends one attempt of a call, unless the client's own throttle refuses it first: an attempt refused locally is
    /// retried like one the server refused (as the client handler does), and the call counts as refused locally if that
    /// was its last attempt.
    /// </summary>
    private void SendAttempt(ClientCall call)
    {
        if (_throttle is not null && !_throttle.TryAcquire())
        {
            call.Attempts++;
            AttemptFailed(call);
            if (call.Done && call.Phase is { } phase)
            {
                phase.LocallyRefused++;
            }

            return;
        }

        Request attempt = NewRequest();
        attempt.Call = call;
        call.Current = attempt;
        call.Attempts++;
        Schedule(_clock.Now + _timeoutTicks, EventKind.ClientTimeout, attempt);
        Admit(attempt);
    }

    /// <summary>An attempt was refused or timed out: retry after a pause if retries and the budget allow, else the call fails.</summary>
    private void AttemptFailed(ClientCall call)
    {
        call.Current = null;
        if (call.Attempts > _scenario.Retries || (_budget is not null && !_budget.TryRetry()))
        {
            call.Done = true;
            return;
        }

        long pause = (long)(_scenario.RetryBackoff.Ticks * (0.5 + _backoffs.NextDouble()));
        Schedule(_clock.Now + Math.Max(1, pause), EventKind.Retry, new Request(_clock.Now, 1, 1) { Call = call });
    }

    private Request NewRequest()
    {
        var request = new Request(_clock.Now, LogNormal(_costs), LogNormal(_costs));
        request.Cohort = _userCohorts[_kinds.Next(_userCohorts.Length)];
        if (_scenario.Mix.Count != 0)
        {
            request.Criticality = _scenario.Mix[Pick(_scenario.Mix.Select(m => m.Share), _scenario.Mix.Count)].Criticality;
            request.Group = request.Criticality.ToString().ToLowerInvariant();
        }

        if (_scenario.Classes.Count != 0)
        {
            request.Class = Pick(_scenario.Classes.Select(c => c.Share), _scenario.Classes.Count);
            request.Group = _scenario.Classes[request.Class].Name;
        }

        return request;
    }

    private int Pick(IEnumerable<double> shares, int count)
    {
        double draw = _kinds.NextDouble(), sum = 0;
        int index = 0;
        foreach (double share in shares)
        {
            sum += share;
            if (draw < sum)
            {
                return index;
            }

            index++;
        }

        return count - 1;
    }

    private void Admit(Request request)
    {
        request.Phase = PhaseAt(request.Arrived);
        Count(request, counters => counters.Offered++);
        int limit = _contender.PerClass ? request.Class : 0;
        if (_rooms[limit] is { } room)
        {
            ValueTask<RateLimitLease> decision = room.AcquireAsync(request);
            if (decision.IsCompleted)
            {
                Decide(request, decision.Result);
            }
            else
            {
                decision.AsTask().ContinueWith(
                    (done, state) => Decide((Request)state!, done.Result), request, CancellationToken.None, TaskContinuationOptions.None, _scheduler);
            }

            return;
        }

        Decide(request, _limiters[limit]?.AttemptAcquire());
    }

    private void Decide(Request request, RateLimitLease? lease)
    {
        PhaseCounters? phase = request.Phase;
        if (phase is not null && _scenario.Mix.Count != 0)
        {
            _decisions[Array.IndexOf(_phases, phase)].Add(new(_clock.Now, request.Criticality, request.Cohort, lease is not { IsAcquired: false }));
        }

        if (lease is { IsAcquired: false })
        {
            lease.Dispose();
            if (request.Call is { Done: false } call && call.Current == request)
            {
                AttemptFailed(call);
            }

            Count(request, counters => counters.Refused++);
            if (phase is not null && _busyWorkers < _shape.Workers && _cpuQueue.Count == 0
                && (_shape.DownstreamCap == 0 || _downstreamInUse < _shape.DownstreamCap))
            {
                Count(request, counters => counters.FalseRefusals++);
            }

            return;
        }

        Count(request, counters => counters.Admitted++);
        request.Lease = lease;
        _inFlight++;
        _cpuQueue.Enqueue(request);
        StartWork();
    }

    /// <summary>Counts in the request's phase (the one it arrived in) and in its group's figures there.</summary>
    private static void Count(Request request, Action<PhaseCounters> count)
    {
        if (request.Phase is { } phase)
        {
            count(phase);
            if (request.Group is { } group)
            {
                count(phase.Group(group));
            }
        }
    }

    private void StartWork()
    {
        if (_clock.Now < _pausedUntil)
        {
            return;
        }

        while (_busyWorkers < _shape.Workers && _cpuQueue.TryDequeue(out Request? next))
        {
            if (GaveUp(next))
            {
                Finish(next, abandoned: true);
                continue;
            }

            SetBusy(_busyWorkers + 1);
            Schedule(_clock.Now + (long)(CpuTimeOf(next).Ticks * next.CpuFactor), EventKind.CpuDone, next);
        }

        while ((_shape.DownstreamCap == 0 || _downstreamInUse < _shape.DownstreamCap) && _downstreamQueue.TryDequeue(out Request? next))
        {
            StartDownstream(next);
        }
    }

    private void FinishCpu(Request request)
    {
        SetBusy(_busyWorkers - 1);
        if (GaveUp(request))
        {
            Finish(request, abandoned: true);
        }
        else if (DownstreamTimeOf(request) == TimeSpan.Zero)
        {
            Finish(request, abandoned: false);
        }
        else if (_shape.DownstreamCap == 0 || _downstreamInUse < _shape.DownstreamCap)
        {
            StartDownstream(request);
        }
        else
        {
            _downstreamQueue.Enqueue(request);
        }

        StartWork();
    }

    private void StartDownstream(Request request)
    {
        if (GaveUp(request))
        {
            Finish(request, abandoned: true);
            return;
        }

        _downstreamInUse++;
        long done = _clock.Now + (long)(DownstreamTimeOf(request).Ticks * request.DownstreamFactor);
        long giveUp = request.Arrived + _timeoutTicks;
        request.AbandonsDownstream = done > giveUp;
        Schedule(Math.Min(done, Math.Max(giveUp, _clock.Now)), EventKind.DownstreamDone, request);
    }

    private void FinishDownstream(Request request)
    {
        _downstreamInUse--;
        Finish(request, request.AbandonsDownstream);
        StartWork();
    }

    private void Finish(Request request, bool abandoned)
    {
        _inFlight--;
        if (abandoned && request.Lease is { } lease)
        {
            AdaptiveConcurrencyLimiter.MarkDropped(lease);
        }

        request.Lease?.Dispose();
        if (!abandoned && request.Call is { Done: false } call && call.Current == request)
        {
            call.Done = true;
            _throttle?.RecordAccepted();
            if (call.Phase is { } callPhase && _clock.Now - call.Started <= _scenario.CallSlo.Ticks)
            {
                callPhase.CallsSucceeded++;
            }
        }

        PhaseCounters? phase = PhaseAt(_clock.Now);
        if (phase is null)
        {
            return;
        }

        PhaseCounters? group = request.Group is { } name ? phase.Group(name) : null;
        long latency = _clock.Now - request.Arrived;
        foreach (PhaseCounters counters in group is null ? [phase] : new[] { phase, group })
        {
            if (abandoned)
            {
                counters.Abandoned++;
                continue;
            }

            counters.Completed++;
            counters.Latencies.Add((float)(latency / (double)TimeSpan.TicksPerMillisecond));
            if (latency <= _sloTicks)
            {
                counters.WithinSlo++;
            }
        }
    }

    private TimeSpan CpuTimeOf(Request request) => _scenario.Classes.Count == 0 ? _shape.CpuTime : _scenario.Classes[request.Class].CpuTime;

    private TimeSpan DownstreamTimeOf(Request request) =>
        _scenario.Classes.Count == 0 ? _shape.DownstreamTime : _scenario.Classes[request.Class].DownstreamTime;

    private bool GaveUp(Request request) => _clock.Now - request.Arrived > _timeoutTicks;

    private void StartPause(Event e)
    {
        double length = _scenario.Pauses.First(p => Seconds(p.At) == _clock.Now).Length;
        long ticks = Seconds(length);
        _pausedUntil = _clock.Now + ticks;

        // Work in progress stops with the process: CPU work ends later by the pause; a downstream
        // answer that arrives during the pause is only seen when it ends.
        var pending = new List<(Event Event, (long Time, long Order) Key)>();
        while (_events.TryDequeue(out Event? queued, out (long Time, long Order) key))
        {
            pending.Add((queued, key));
        }

        foreach ((Event queued, (long time, long order)) in pending)
        {
            long moved = queued.Kind switch
            {
                EventKind.CpuDone => time + ticks,
                EventKind.DownstreamDone when time < _pausedUntil => _pausedUntil,
                _ => time,
            };
            _events.Enqueue(queued, (moved, order));
        }

        Schedule(_pausedUntil, EventKind.PauseEnd);
    }

    private void EndPause()
    {
        // What the kernel held while the process stood still arrives at once.
        List<Request> held = [.. _heldDuringPause];
        _heldDuringPause.Clear();
        StartWork();
        foreach (Request request in held)
        {
            Admit(request);
        }
    }

    private void SetBusy(int busy)
    {
        _busyTicks += (_clock.Now - _busySince) * Math.Min(_busyWorkers, _shape.Workers);
        _busySince = _clock.Now;
        _busyWorkers = busy;
    }

    // CPU use as a process would report it: the workers' busy share over the last 500 ms.
    private void SampleCpu()
    {
        SetBusy(_busyWorkers);
        long span = _clock.Now - _cpuWindowStart;
        if (span > 0)
        {
            _cpuUsage = Math.Clamp((_busyTicks - _cpuWindowBusy) / ((double)span * _shape.Workers), 0, 1);
        }

        _cpuWindowStart = _clock.Now;
        _cpuWindowBusy = _busyTicks;
        Schedule(_clock.Now + (TimeSpan.TicksPerMillisecond * 500), EventKind.CpuSample);
    }

    private void ScheduleNextArrival(long now)
    {
        double rate = _scenario.OfferedRate(Seconds(now));
        if (rate <= 0)
        {
            Schedule(now + TimeSpan.TicksPerMillisecond, EventKind.Arrival);
            return;
        }

        double gap = -Math.Log(1 - _arrivals.NextDouble()) / rate;
        Schedule(now + Math.Max(1, (long)(gap * TimeSpan.TicksPerSecond)), EventKind.Arrival);
    }

    private double LogNormal(Random random)
    {
        double cv = _shape.Variation;
        if (cv <= 0)
        {
            return 1;
        }

        double sigma2 = Math.Log(1 + (cv * cv));
        double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
        double normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        return Math.Exp((-sigma2 / 2) + (Math.Sqrt(sigma2) * normal));
    }

    private PhaseCounters? PhaseAt(long time)
    {
        double seconds = Seconds(time);
        for (int i = 0; i < _phases.Length; i++)
        {
            if (seconds >= _scenario.Phases[i].Start && seconds < _scenario.Phases[i].End)
            {
                _phases[i].NoteLimit(_limiter?.Limit ?? 0);
                return _phases[i];
            }
        }

        return null;
    }

    private void Schedule(long time, EventKind kind, Request? request = null) =>
        _events.Enqueue(new Event(kind, request), (time, _order++));

    private static long Seconds(double seconds) => (long)Math.Round(seconds * TimeSpan.TicksPerSecond);

    private static double Seconds(long ticks) => ticks / (double)TimeSpan.TicksPerSecond;

    private enum EventKind
    {
        Arrival,
        CpuDone,
        DownstreamDone,
        ShapeChange,
        PauseStart,
        PauseEnd,
        Trace,
        CpuSample,
        Retry,
        ClientTimeout,
    }

    private sealed record Event(EventKind Kind, Request? Request);

    private sealed class Request(long arrived, double cpuFactor, double downstreamFactor)
    {
        public long Arrived => arrived;

        public double CpuFactor => cpuFactor;

        public double DownstreamFactor => downstreamFactor;

        public RateLimitLease? Lease { get; set; }

        public Criticality Criticality { get; set; } = Criticality.Normal;

        public int Cohort { get; set; }

        public int Class { get; set; }

        public string? Group { get; set; }

        public PhaseCounters? Phase { get; set; }

        public ClientCall? Call { get; set; }

        public bool AbandonsDownstream { get; set; }
    }

    /// <summary>A client's call across its attempts.</summary>
    private sealed class ClientCall(long started, PhaseCounters? phase)
    {
        public long Started => started;

        public PhaseCounters? Phase => phase;

        public int Attempts { get; set; }

        public Request? Current { get; set; }

        public bool Done { get; set; }
    }

    private sealed class PhaseCounters
    {
        public long Calls { get; set; }

        public long CallsSucceeded { get; set; }

        public long LocallyRefused { get; set; }

        private double _limitSum;
        private long _limitCount;

        public long Offered { get; set; }

        public long Admitted { get; set; }

        public long Refused { get; set; }

        public long FalseRefusals { get; set; }

        public long Completed { get; set; }

        public long WithinSlo { get; set; }

        public long Abandoned { get; set; }

        public List<float> Latencies { get; } = [];

        public SortedDictionary<string, PhaseCounters> Groups { get; } = new(StringComparer.Ordinal);

        public PhaseCounters Group(string name)
        {
            if (!Groups.TryGetValue(name, out PhaseCounters? group))
            {
                group = new PhaseCounters();
                Groups[name] = group;
            }

            return group;
        }

        public void NoteLimit(int limit)
        {
            _limitSum += limit;
            _limitCount++;
        }

        public PhaseResult Result(Phase phase, Scenario scenario)
        {
            Latencies.Sort();
            ServiceShape shape = scenario.ShapeAt(phase.Start);
            return new PhaseResult(
                phase, shape.IdealLimit, shape.Capacity, Offered, Admitted, Refused, FalseRefusals, Completed, WithinSlo, Abandoned,
                Percentile(0.50), Percentile(0.99), _limitCount == 0 ? 0 : _limitSum / _limitCount)
            {
                Groups = Groups.ToDictionary(g => g.Key, g => g.Value.Result(phase, scenario), StringComparer.Ordinal),
                Calls = Calls,
                CallsSucceeded = CallsSucceeded,
                LocallyRefused = LocallyRefused,
            };
        }

        private double Percentile(double p) =>
            Latencies.Count == 0 ? 0 : Latencies[Math.Clamp((int)Math.Ceiling(p * Latencies.Count) - 1, 0, Latencies.Count - 1)];
    }
}
