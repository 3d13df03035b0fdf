using System.Threading.RateLimiting;
using Backpressure.Adaptive;

namespace Backpressure.Simulation;

/// <summary>
/// A discrete-event simulation of one contender in one scenario, on a <see cref="VirtualClock"/>:
/// every run of the same scenario and contender gives the same numbers, and ten simulated minutes
/// take about a second. The limiter is the real <see cref="AdaptiveConcurrencyLimiter"/>; only the
/// service, the clients and the clock are simulated.
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
        _phases = [.. scenario.Phases.Select(_ => new PhaseCounters())];
        if (contender.CreateAlgorithm is { } create)
        {
            _limiter = new AdaptiveConcurrencyLimiter(
                create(() => _cpuUsage),
                new AdaptiveConcurrencyLimiterOptions { MaxSamplesPerSecond = int.MaxValue },
                _clock);
        }
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
        while (_events.TryDequeue(out Event? next, out (long Time, long Order) key) && key.Time <= end)
        {
            _clock.Now = key.Time;
            Handle(next);
        }

        _limiter?.Dispose();
        return new RunResult(_scenario, _contender, [.. _scenario.Phases.Select((phase, i) => _phases[i].Result(phase, _scenario))], _trace);
    }

    private void Handle(Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Arrival:
                ScheduleNextArrival(_clock.Now);
                var request = new Request(_clock.Now, LogNormal(_costs), LogNormal(_costs));
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
                _trace.Add(new LimitPoint(Seconds(_clock.Now), _limiter?.Limit ?? 0, _inFlight));
                Schedule(_clock.Now + TraceEveryTicks, EventKind.Trace);
                break;
            case EventKind.CpuSample:
                SampleCpu();
                break;
        }
    }

    private void Admit(Request request)
    {
        PhaseCounters? phase = PhaseAt(request.Arrived);
        if (phase is not null)
        {
            phase.Offered++;
        }
        RateLimitLease? lease = _limiter?.AttemptAcquire();
        if (lease is { IsAcquired: false })
        {
            lease.Dispose();
            if (phase is not null)
            {
                phase.Refused++;
                if (_busyWorkers < _shape.Workers && _cpuQueue.Count == 0
                    && (_shape.DownstreamCap == 0 || _downstreamInUse < _shape.DownstreamCap))
                {
                    phase.FalseRefusals++;
                }
            }

            return;
        }

        if (phase is not null)
        {
            phase.Admitted++;
        }
        request.Lease = lease;
        _inFlight++;
        _cpuQueue.Enqueue(request);
        StartWork();
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
            Schedule(_clock.Now + (long)(_shape.CpuTime.Ticks * next.CpuFactor), EventKind.CpuDone, next);
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
        long done = _clock.Now + (long)(_shape.DownstreamTime.Ticks * request.DownstreamFactor);
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
        PhaseCounters? phase = PhaseAt(_clock.Now);
        if (phase is null)
        {
            return;
        }

        if (abandoned)
        {
            phase.Abandoned++;
            return;
        }

        long latency = _clock.Now - request.Arrived;
        phase.Completed++;
        phase.Latencies.Add((float)(latency / (double)TimeSpan.TicksPerMillisecond));
        if (latency <= _sloTicks)
        {
            phase.WithinSlo++;
        }
    }

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
    }

    private sealed record Event(EventKind Kind, Request? Request);

    private sealed class Request(long arrived, double cpuFactor, double downstreamFactor)
    {
        public long Arrived => arrived;

        public double CpuFactor => cpuFactor;

        public double DownstreamFactor => downstreamFactor;

        public RateLimitLease? Lease { get; set; }

        public bool AbandonsDownstream { get; set; }
    }

    private sealed class PhaseCounters
    {
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
                Percentile(0.50), Percentile(0.99), _limitCount == 0 ? 0 : _limitSum / _limitCount);
        }

        private double Percentile(double p) =>
            Latencies.Count == 0 ? 0 : Latencies[Math.Clamp((int)Math.Ceiling(p * Latencies.Count) - 1, 0, Latencies.Count - 1)];
    }
}
