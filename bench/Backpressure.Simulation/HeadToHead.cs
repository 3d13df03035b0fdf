using System.Globalization;
using System.Text;

namespace Backpressure.Simulation;

/// <summary>
/// Runs every contender through every scenario, finds the best static limit of each by a sweep
/// (the "oracle"), and writes the tables of <c>docs/benchmarks.md</c> and the limit traces.
/// </summary>
public static class HeadToHead
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    /// <summary>The no-load p99 of a service: its latency distribution alone, at 5 % load with no limit.</summary>
    public static double NoLoadP99(ServiceShape shape, int seed = 1)
    {
        var scenario = new Scenario
        {
            Name = "no-load",
            Description = "5 % load",
            Duration = 120,
            OfferedRate = _ => 0.05 * shape.Capacity,
            Shapes = [(0, shape)],
            Phases = [new("all", 10, 120)],
            Slo = TimeSpan.FromSeconds(10),
            Seed = seed,
        };
        return Simulation.Run(scenario, Contender.NoLimit).Phases[0].P99Milliseconds;
    }

    /// <summary>Runs static limits from half to three times <paramref name="guess"/> through the scenario, in parallel.</summary>
    public static IReadOnlyList<RunResult> Sweep(Scenario scenario, double guess)
    {
        var candidates = new SortedSet<int>();
        double step = Math.Max(1, guess / 8);
        for (double limit = Math.Max(1, guess * 0.5); limit <= guess * 3; limit += step)
        {
            candidates.Add((int)Math.Round(limit));
        }

        return [.. candidates.AsParallel().AsOrdered().Select(limit => Simulation.Run(scenario, Contender.Static(limit)))];
    }

    /// <summary>
    /// The oracle of a sweep for one phase: the least static limit whose goodput is within 1 % of the
    /// most any static limit got. Beyond it more concurrency only adds queueing, so it is also the
    /// phase's ideal limit.
    /// </summary>
    public static RunResult Oracle(IReadOnlyList<RunResult> sweep, string phase)
    {
        double most = sweep.Max(r => r[phase].Goodput);
        RunResult best = sweep.First(r => r[phase].Goodput >= 0.99 * most);
        Contender oracle = best.Contender with { Name = $"oracle: best static ({best.Contender.Name[7..]})" };
        return best with { Contender = oracle };
    }

    /// <summary>The limit of an oracle.</summary>
    public static int LimitOf(RunResult oracle) => int.Parse(oracle.Contender.Name[(oracle.Contender.Name.LastIndexOf('(') + 1)..^1], s_invariant);

    /// <summary>Runs contenders through a scenario in parallel, keeping their order.</summary>
    public static List<RunResult> RunAll(Scenario scenario, IEnumerable<Contender> contenders) =>
        [.. contenders.AsParallel().AsOrdered().Select(c => Simulation.Run(scenario, c))];

    /// <summary>Runs everything and returns the markdown; writes the S1 limit trace when <paramref name="traceFile"/> is given.</summary>
    public static string Run(double s5Minutes, string? traceFile)
    {
        var text = new StringBuilder();
        double baseP99 = NoLoadP99(Scenarios.Base);
        IReadOnlyList<Contender> adaptive = [Contenders.Ours, .. Contenders.Competitors];

        // S1
        Scenario s1 = Scenarios.CapacityHalves;
        IReadOnlyList<RunResult> s1Sweep = Sweep(s1, 64);
        RunResult s1Oracle = Oracle(s1Sweep, "halved");
        int halvedIdeal = LimitOf(s1Oracle), restoredIdeal = LimitOf(Oracle(s1Sweep, "restored"));
        List<RunResult> s1Results = [.. RunAll(s1, adaptive), s1Sweep.Single(r => r.Contender.Name == "static 64"), s1Oracle, Simulation.Run(s1, Contender.NoLimit)];
        Header(text, s1, $"Capacity 3200/s, then 1600/s, then 3200/s; no-load latency 20 ms, p99 {baseP99:F1} ms. Ideal limit while halved {halvedIdeal}, once restored {restoredIdeal} (the oracle's: the least static limit within 1 % of the best goodput). Targets: within ±10 % of {halvedIdeal} ≤ 2 s after halving, ≥ 90 % of {restoredIdeal} ≤ 3 s after restoring, goodput while halved ≥ 95 %, admitted p99 ≤ {2 * baseP99:F0} ms.");
        text.AppendLine("| algorithm | within ±10 % of ideal after halving (for 5 s) | ≥ 90 % of ideal after restoring | goodput while halved (% of capacity) | admitted p50 / p99 while halved | refused while halved | mean limit while halved |");
        text.AppendLine("|---|--:|--:|--:|--:|--:|--:|");
        foreach (RunResult r in s1Results)
        {
            PhaseResult h = r["halved"];
            bool limited = r.Contender.CreateAlgorithm is not null;
            text.AppendLine(Row(
                r.Contender.Name,
                limited ? Seconds(r.SettlingTime(60, halvedIdeal, hold: 5, until: 120)) : "–",
                limited ? Seconds(r.TimeToReach(120, 0.9 * restoredIdeal)) : "–",
                Percent(h.GoodputShare),
                $"{h.P50Milliseconds:F0} / {h.P99Milliseconds:F0} ms",
                Percent(h.Refused / (double)Math.Max(1, h.Offered)),
                limited ? h.MeanLimit.ToString("F1", s_invariant) : "–"));
        }

        if (traceFile is not null)
        {
            WriteTrace(traceFile, [.. s1Results.Take(adaptive.Count)], halvedIdeal, restoredIdeal);
        }

        // S2
        foreach (Scenario s2 in new[] { Scenarios.SlowerDependency, Scenarios.SlowerCappedDependency })
        {
            bool capped = s2.ShapeAt(40).DownstreamCap > 0;
            List<RunResult> results = RunAll(s2, [.. adaptive, Contender.NoLimit]);
            string note = "Nothing saturates: every refusal is a false one (a worker was idle and nothing queued). Target: 0 false refusals.";
            if (capped)
            {
                RunResult oracle = Oracle(Sweep(s2, s2.ShapeAt(40).IdealLimit), "slow");
                results.Add(oracle);
                note = $"Saturated while slow (capacity {s2.ShapeAt(40).Capacity:F0}/s): ideal limit {LimitOf(oracle)}. False refusals: refused while a worker was idle, nothing queued and the downstream had room.";
            }

            Header(text, s2, note);
            text.AppendLine("| algorithm | refused while slow | of them false | goodput while slow (% of offered or capacity) | admitted p99 while slow | mean limit while slow | goodput after (%) |");
            text.AppendLine("|---|--:|--:|--:|--:|--:|--:|");
            foreach (RunResult r in results)
            {
                PhaseResult slow = r["slow"];
                text.AppendLine(Row(
                    r.Contender.Name,
                    slow.Refused.ToString(s_invariant),
                    slow.FalseRefusals.ToString(s_invariant),
                    Percent(slow.GoodputShare),
                    $"{slow.P99Milliseconds:F0} ms",
                    r.Contender.CreateAlgorithm is null ? "–" : slow.MeanLimit.ToString("F0", s_invariant),
                    Percent(r["after"].GoodputShare)));
            }
        }

        // S5
        double[] multiples = [1.2, 2, 4, 10];
        var oracles = multiples.ToDictionary(m => m, m => Oracle(Sweep(Scenarios.SustainedOverload(m, Math.Min(s5Minutes, 2)), 16), "overload"));
        var oracleRuns = multiples.ToDictionary(m => m, m => Simulation.Run(Scenarios.SustainedOverload(m, s5Minutes), Contender.Static(LimitOf(oracles[m]))));
        Header(text, Scenarios.SustainedOverload(1.2, s5Minutes),
            $"8 workers, capacity 800/s, no-load latency 20 ms (p99 {NoLoadP99(Scenarios.Small):F1} ms), SLO 100 ms; {s5Minutes} simulated minutes at each load. The oracle is the best static limit of a sweep at each load (run for {Math.Min(s5Minutes, 2)} minutes, then for the full time). Drift: the least-squares slope of the limit at 1.2x after the first minute.");
        text.AppendLine("| algorithm | goodput 1.2x | 2x | 4x | 10x | % of oracle at 4x / 10x | admitted p99 at 10x | limit drift at 1.2x (permits/min) |");
        text.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|");
        foreach (Contender contender in adaptive.Append(Contender.NoLimit))
        {
            var byLoad = multiples.AsParallel().ToDictionary(m => m, m => Simulation.Run(Scenarios.SustainedOverload(m, s5Minutes), contender));
            text.AppendLine(Row(
                contender.Name,
                Rate(byLoad[1.2]), Rate(byLoad[2]), Rate(byLoad[4]), Rate(byLoad[10]),
                $"{Percent(byLoad[4]["overload"].Goodput / oracleRuns[4]["overload"].Goodput)} / {Percent(byLoad[10]["overload"].Goodput / oracleRuns[10]["overload"].Goodput)}",
                $"{byLoad[10]["overload"].P99Milliseconds:F0} ms",
                contender.CreateAlgorithm is null ? "–" : (Math.Round(byLoad[1.2].LimitSlopePerMinute(60, s5Minutes * 60), 3) + 0.0).ToString("+0.000;-0.000;0.000", s_invariant)));
        }

        text.AppendLine(Row(
            "oracle: best static at each load",
            $"{Rate(oracleRuns[1.2])} (L {LimitOf(oracles[1.2])})", $"{Rate(oracleRuns[2])} (L {LimitOf(oracles[2])})",
            $"{Rate(oracleRuns[4])} (L {LimitOf(oracles[4])})", $"{Rate(oracleRuns[10])} (L {LimitOf(oracles[10])})",
            "100 % / 100 %", $"{oracleRuns[10]["overload"].P99Milliseconds:F0} ms", "–"));

        // S6: at exactly 100 % load goodput keeps creeping up with the limit, so its ideal is this
        // service's ideal under overload: the oracle of S9's sweep, without pauses.
        Scenario s6 = Scenarios.IdleThenStep;
        int stepIdeal = LimitOf(Oracle(Sweep(Overloaded(Scenarios.Base), 64), "overload"));
        RunResult s6Oracle = Simulation.Run(s6, Contender.Static(stepIdeal, $"oracle: best static ({stepIdeal})"));
        Header(text, s6, $"Ideal limit after the step {stepIdeal} (the oracle of the same service at 120 %: at exactly 100 % goodput keeps creeping up with the limit). The limit while idle shows whether it floats above what the load uses (target: never below what 5 % load needs, never above 5x in flight).");
        text.AppendLine("| algorithm | ≥ 90 % of ideal after the step | limit while idle (min–max) | most in flight while idle | goodput after the step (% of capacity) | admitted p99 after the step |");
        text.AppendLine("|---|--:|--:|--:|--:|--:|");
        foreach (RunResult r in RunAll(s6, [.. adaptive, Contender.NoLimit]).Append(s6Oracle))
        {
            var idle = r.Trace.Where(p => p.Time >= 60 && p.Time < 300).ToList();
            bool limited = r.Contender.CreateAlgorithm is not null;
            text.AppendLine(Row(
                r.Contender.Name,
                limited ? Seconds(r.TimeToReach(300, 0.9 * stepIdeal)) : "–",
                limited ? $"{idle.Min(p => p.Limit)}–{idle.Max(p => p.Limit)}" : "–",
                idle.Max(p => p.InFlight).ToString(s_invariant),
                Percent(r["step"].GoodputShare),
                $"{r["step"].P99Milliseconds:F0} ms"));
        }

        // S9
        Scenario s9 = Scenarios.Pauses;
        int pausedIdeal = stepIdeal;
        RunResult s9Oracle = Simulation.Run(s9, Contender.Static(pausedIdeal, $"oracle: best static ({pausedIdeal})"));
        Header(text, s9, $"Ideal limit {pausedIdeal} (the oracle of this service at 120 % without pauses). Recovery: seconds from the end of each pause until the limit is within ±10 % of it for a second; the worst of the 9 pauses. Target ≤ 1 s.");
        text.AppendLine("| algorithm | worst recovery after a pause | pauses recovered ≤ 1 s | goodput (% of capacity) | admitted p99 |");
        text.AppendLine("|---|--:|--:|--:|--:|");
        foreach (RunResult r in RunAll(s9, [.. adaptive, Contender.NoLimit]).Append(s9Oracle))
        {
            bool limited = r.Contender.CreateAlgorithm is not null;
            var recoveries = s9.Pauses.Select(p => r.SettlingTime(p.At + p.Length, pausedIdeal, hold: 1, until: p.At + 30)).ToList();
            text.AppendLine(Row(
                r.Contender.Name,
                !limited ? "–" : recoveries.Any(x => x is null) ? $"never, {recoveries.Count(x => x is null)} of 9" : $"{recoveries.Max():F1} s",
                limited ? $"{recoveries.Count(x => x <= 1.0)} of {recoveries.Count}" : "–",
                Percent(r["paused"].GoodputShare),
                $"{r["paused"].P99Milliseconds:F0} ms"));
        }

        return text.ToString();
    }

    /// <summary>A service at 120 % of its capacity for a minute: where its ideal limit under overload is found.</summary>
    public static Scenario Overloaded(ServiceShape shape) => new()
    {
        Name = "ideal",
        Description = "the service at 120 % of its capacity",
        Duration = 60,
        OfferedRate = _ => 1.2 * shape.Capacity,
        Shapes = [(0, shape)],
        Phases = [new("overload", 10, 60)],
        Slo = TimeSpan.FromMilliseconds(100),
    };

    internal static void Header(StringBuilder text, Scenario scenario, string note)
    {
        text.AppendLine();
        text.AppendLine($"#### {scenario.Name}: {scenario.Description}");
        text.AppendLine();
        text.AppendLine(note);
        text.AppendLine();
    }

    internal static string Row(params string[] cells) => $"| {string.Join(" | ", cells)} |";

    private static string Seconds(double? seconds) => seconds is { } s ? $"{s:F1} s" : "never";

    internal static string Percent(double share) => $"{100 * share:F1} %";

    private static string Rate(RunResult r) => $"{r["overload"].Goodput:F0}/s";

    private static void WriteTrace(string path, List<RunResult> results, int halvedIdeal, int restoredIdeal)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("# time ideal " + string.Join(' ', results.Select(r => '"' + r.Contender.Name + '"')));
        for (int i = 0; i < results[0].Trace.Count; i++)
        {
            double time = results[0].Trace[i].Time;
            int ideal = time >= 60 && time < 120 ? halvedIdeal : restoredIdeal;
            writer.WriteLine(string.Create(s_invariant, $"{time:F1} {ideal} {string.Join(' ', results.Select(r => r.Trace[i].Limit))}"));
        }
    }
}
