using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Backpressure.Testing;

/// <summary>Runs a real program the tests check against (promtool, node, bp) to completion, and finds free loopback ports.</summary>
internal static class ExternalCommand
{
    /// <summary>Runs <paramref name="file"/> with <paramref name="arguments"/>, feeding it <paramref name="input"/>; gives up after a minute.</summary>
    /// <exception cref="InvalidOperationException">The program could not be started; the message says how to install it.</exception>
    public static async Task<(int Exit, string Output, string Error)> RunAsync(
        string file, IEnumerable<string> arguments, string? input = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start; scripts/test.sh installs what the tests run");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>A loopback port free right now, for a server the test starts itself.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
