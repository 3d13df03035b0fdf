using System.Diagnostics;
using Backpressure.Simulation;

// Usage: dotnet run -c Release --project bench/Backpressure.Simulation -- [--s5-minutes M] [--trace FILE]
double s5Minutes = 10;
string? trace = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--s5-minutes" when i + 1 < args.Length:
            s5Minutes = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        case "--trace" when i + 1 < args.Length:
            trace = args[++i];
            break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: [--s5-minutes M] [--trace FILE]");
            return 2;
    }
}

if (Environment.GetEnvironmentVariable("SIM_DEBUG_TRACE") is { } traced)
{
    Scenario sc = traced switch { "S6" => Scenarios.IdleThenStep, "S9" => Scenarios.Pauses, "S2cap" => Scenarios.SlowerCappedDependency, _ => Scenarios.CapacityHalves };
    RunResult r = Simulation.Run(sc, Contenders.Ours);
    foreach (LimitPoint p in r.Trace)
    {
        Console.WriteLine($"{p.Time:F1} {p.Limit} {p.InFlight}");
    }

    return 0;
}

if (Environment.GetEnvironmentVariable("SIM_DEBUG_SWEEP") is { } which)
{
    Scenario sc = which switch { "S6" => Scenarios.IdleThenStep, "S9" => Scenarios.Pauses, "S5" => Scenarios.SustainedOverload(4, 2), _ => Scenarios.CapacityHalves };
    string ph = which switch { "S6" => "step", "S9" => "paused", "S5" => "overload", _ => "halved" };
    foreach (RunResult r in HeadToHead.Sweep(sc, which == "S5" ? 16 : 64))
    {
        Console.WriteLine($"{r.Contender.Name} goodput {r[ph].Goodput:F0} share {r[ph].GoodputShare:P1} p50 {r[ph].P50Milliseconds:F0} p99 {r[ph].P99Milliseconds:F0}");
    }

    return 0;
}

var watch = Stopwatch.StartNew();
Console.Write(HeadToHead.Run(s5Minutes, trace));
Console.Error.WriteLine($"simulated in {watch.Elapsed.TotalSeconds:F0} s");
return 0;
