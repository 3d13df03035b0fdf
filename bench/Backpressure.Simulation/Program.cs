using System.Diagnostics;
using Backpressure.Simulation;

// Usage: dotnet run -c Release --project bench/Backpressure.Simulation -- [--s5-minutes M] [--trace FILE] | --shedding
double s5Minutes = 10;
string? trace = null;
bool shedding = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--s5-minutes" when i + 1 < args.Length:
            if (!double.TryParse(args[++i], System.Globalization.CultureInfo.InvariantCulture, out s5Minutes) || s5Minutes is < 1 or > 60)
            {
                Console.Error.WriteLine($"--s5-minutes must be a number of minutes from 1 to 60 (was '{args[i]}')");
                return 2;
            }

            break;
        case "--shedding":
            shedding = true;
            break;
        case "--trace" when i + 1 < args.Length:
            trace = args[++i];
            break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: [--s5-minutes M] [--trace FILE] | --shedding");
            return 2;
    }
}

var watch = Stopwatch.StartNew();
Console.Write(shedding ? Shedding.Run() : HeadToHead.Run(s5Minutes, trace));
Console.Error.WriteLine($"simulated in {watch.Elapsed.TotalSeconds:F0} s");
return 0;
