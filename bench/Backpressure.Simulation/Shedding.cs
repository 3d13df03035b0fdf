using System.Text;
using Backpressure.Admission;
using static Backpressure.Simulation.HeadToHead;

namespace Backpressure.Simulation;

/// <summary>
/// The shedding scenarios of issue 17 (S3 bursts and a spike, S4 mixed priorities, S7 mixed cost): our adaptive
/// limit alone, and the same limit behind a <see cref="WaitingRoom{TResource}"/> with its default options.
/// </summary>
public static class Shedding
{
    /// <summary>Our adaptive limit with nothing in front of it.</summary>
    public static Contender Limit { get; } = Contenders.Ours with { Name = "adaptive limit alone" };

    /// <summary>Our adaptive limit behind a waiting room with its defaults.</summary>
    public static Contender Room { get; } = Contenders.Ours with { Name = "adaptive limit + waiting room", Room = () => new WaitingRoomOptions() };

    /// <summary>
    /// The waiting room with a target of one service time (20 ms here), the default before it was ten: what a tight
    /// target costs in bursts (S3's last 200 ms and take about 400 ms more to drain, a standing queue by CoDel's rule).
    /// </summary>
    public static Contender TightRoom { get; } = Contenders.Ours with
    {
        Name = "adaptive limit + waiting room, target 20 ms",
        Room = () => new WaitingRoomOptions { Target = TimeSpan.FromMilliseconds(20) },
    };

    /// <summary>The contenders of S7: one limit for every endpoint, or one per endpoint, each with and without a room.</summary>
    public static IReadOnlyList<Contender> MixedCostContenders { get; } =
    [
        Limit with { Name = "one adaptive limit" },
        Room with { Name = "one adaptive limit + waiting room" },
        Limit with { Name = "adaptive limit per endpoint", PerClass = true },
        Room with { Name = "adaptive limit + waiting room per endpoint", PerClass = true },
        Contender.NoLimit,
    ];

    /// <summary>Runs the scenarios and returns the markdown.</summary>
    public static string Run()
    {
        var text = new StringBuilder();

        Scenario s3 = Scenarios.Bursts;
        Header(text, s3, "Capacity 3200/s, no-load latency 20 ms. Targets (waiting room): < 1 % refused, admitted p99 ≤ target + 2 × p50 (the target in force is shown).");
        text.AppendLine("| contender | refused | goodput (% of offered) | p50 / p99 | p99 ≤ target + 2 × p50 |");
        text.AppendLine("|---|--:|--:|--:|--:|");
        foreach (RunResult r in HeadToHead.RunAll(s3, [Limit, Room, TightRoom, Contender.NoLimit]))
        {
            PhaseResult p = r["bursts"];
            double bound = TargetOf(r) + (2 * p.P50Milliseconds);
            text.AppendLine(Row(
                r.Contender.Name, Percent(p.Refused / (double)p.Offered), Percent(p.GoodputShare),
                $"{p.P50Milliseconds:F0} / {p.P99Milliseconds:F0} ms",
                r.Contender.Room is null ? "–" : $"{(p.P99Milliseconds <= bound ? "yes" : "no")} ({p.P99Milliseconds:F0} vs {bound:F0} ms)"));
        }

        Scenario spike = Scenarios.Spike;
        Header(text, spike, "Targets: goodput during the spike ≥ 95 % of capacity; no collapse after it (goodput after = what is offered).");
        text.AppendLine("| contender | goodput in the spike (% of capacity) | refused in the spike | goodput after (% of offered) | p99 after |");
        text.AppendLine("|---|--:|--:|--:|--:|");
        foreach (RunResult r in HeadToHead.RunAll(spike, [Limit, Room, TightRoom, Contender.NoLimit]))
        {
            PhaseResult during = r["spike"], after = r["after"];
            text.AppendLine(Row(
                r.Contender.Name, Percent(during.Goodput / during.Capacity), Percent(during.Refused / (double)during.Offered),
                Percent(after.GoodputShare), $"{after.P99Milliseconds:F0} ms"));
        }

        Scenario s4 = Scenarios.MixedPriorities;
        Header(text, s4, "Availability: completed within the 500 ms SLO, of offered. Targets: critical ≥ 99.9 %; inversions (a request shed while a less critical one was admitted in the same 100 ms) ≤ 0.1 % of decisions; the cohorts shed in one second overlap those of the next ≥ 95 % (Jaccard, for each level partly shed).");
        text.AppendLine("| contender | critical | normal | sheddable | batch | inversions | cohort overlap | goodput (% of capacity) |");
        text.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|");
        foreach (RunResult r in HeadToHead.RunAll(s4, [Limit, Room]))
        {
            PhaseResult p = r["overload"];
            SheddingOrder order = p.Shedding!;
            text.AppendLine(Row(
                r.Contender.Name,
                Percent(p.Groups["critical"].Availability), Percent(p.Groups["normal"].Availability),
                Percent(p.Groups["sheddable"].Availability), Percent(p.Groups["batch"].Availability),
                $"{100 * order.InversionShare:F2} %",
                order.CohortOverlap.Count == 0 ? "–" : string.Join(", ", order.CohortOverlap.Select(o => $"{o.Key.ToString().ToLowerInvariant()} {Percent(o.Value)}")),
                Percent(p.Goodput / p.Capacity)));
        }

        RunResult alone = Simulation.Run(Scenarios.MixedCostFastAlone, Limit);
        double fastAlone = alone["overload"].Goodput;
        Header(text, Scenarios.MixedCost, $"The fast calls alone at the same rate, behind one adaptive limit: {fastAlone:F0}/s within the SLO. Target: the fast class keeps ≥ 95 % of that while the slow class is overloaded.");
        text.AppendLine("| contender | fast goodput (% of alone) | fast p99 | slow goodput | slow refused |");
        text.AppendLine("|---|--:|--:|--:|--:|");
        foreach (RunResult r in HeadToHead.RunAll(Scenarios.MixedCost, MixedCostContenders))
        {
            PhaseResult fast = r["overload"].Groups["fast"], slow = r["overload"].Groups["slow"];
            text.AppendLine(Row(
                r.Contender.Name, $"{fast.Goodput:F0}/s ({Percent(fast.Goodput / fastAlone)})", $"{fast.P99Milliseconds:F0} ms",
                $"{slow.Goodput:F0}/s", Percent(slow.Refused / (double)Math.Max(1, slow.Offered))));
        }

        Scenario s8 = Scenarios.RetryStorm(3);
        PhaseResult calm = Simulation.Run(Scenarios.RetryStorm(0), Limit)["storm"];
        double calmMean = MeanCallGoodput(Limit, 0);
        Header(text, s8, $"Our adaptive limit in front of the service; amplification = requests reaching the server ÷ distinct calls. Without retries the same calls get {calm.CallGoodput:F0} calls/s through within 2 s (amplification {calm.Amplification:F2}), {calmMean:F1} on average over {StormSeeds} runs with other draws. Targets (issue 18): amplification ≤ 1.1 with the throttle and budget, against about 3 without; goodput no lower than without retries. One run's goodput varies by a few calls a second with its draws (the standard deviation of the difference between two clients is 2.5–4.5/s), so goodput is compared on the mean of {StormSeeds} runs.");
        text.AppendLine($"| clients | amplification | calls through within 2 s, per s | mean of {StormSeeds} runs, per s (against no retries) | refused locally | admitted p99 |");
        text.AppendLine("|---|--:|--:|--:|--:|--:|");
        foreach (RunResult r in HeadToHead.RunAll(s8, RetryStormContenders))
        {
            PhaseResult p = r["storm"];
            double mean = MeanCallGoodput(r.Contender, 3);
            text.AppendLine(Row(
                r.Contender.Name, p.Amplification.ToString("F2", System.Globalization.CultureInfo.InvariantCulture), $"{p.CallGoodput:F0}",
                $"{mean:F1} ({mean - calmMean:+0.0;-0.0;0.0})",
                Percent(p.LocallyRefused / (double)Math.Max(1, p.Calls)), $"{p.P99Milliseconds:F0} ms"));
        }

        return text.ToString();
    }

    /// <summary>How many runs of S8, each with its own draws, goodput is averaged over.</summary>
    public const int StormSeeds = 24;

    /// <summary>
    /// The calls a second <paramref name="contender"/> gets through S8 within 2 s with clients that retry up to
    /// <paramref name="retries"/> times, averaged over <see cref="StormSeeds"/> runs with other draws: one run's
    /// figure moves by a few calls a second with its draws, more than the clients' differences.
    /// </summary>
    public static double MeanCallGoodput(Contender contender, int retries) =>
        Enumerable.Range(1, StormSeeds).AsParallel().Select(seed => Simulation.Run(Scenarios.RetryStorm(retries, seed), contender)["storm"].CallGoodput).Average();

    /// <summary>The clients of S8: retrying blindly, within a budget, behind a throttle, and both.</summary>
    public static IReadOnlyList<Contender> RetryStormContenders { get; } =
    [
        Limit with { Name = "3 retries" },
        Limit with { Name = "3 retries, retry budget", RetryBudget = true },
        Limit with { Name = "3 retries, adaptive throttle", ClientThrottle = true },
        Limit with { Name = "3 retries, throttle + budget", ClientThrottle = true, RetryBudget = true },
    ];

    /// <summary>The target a run's waiting room had in force at the end, in milliseconds; 0 with no room.</summary>
    private static double TargetOf(RunResult run) => run.RoomTarget.TotalMilliseconds;
}
