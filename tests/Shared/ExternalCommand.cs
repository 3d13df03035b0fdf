using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Backpressure.Testing;

/// <summary>Runs a real program the tests check against (promtool, node, bp) to completion, and finds free loopback ports.</summary>
internal static class ExternalCommand
{
    /// <summary>Runs <paramref name="file"/> with <paramref name="arguments"/>, feeding it <paramref name="input"/>; gives up (killing it) after <paramref name="timeout"/>, a minute by default.</summary>
    /// <exception cref="InvalidOperationException">The program could not be started; the message says how to install it.</exception>
    public static async Task<(int Exit, string Output, string Error)> RunAsync(
        string file, IEnumerable<string> arguments, string? input = null, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? "",
        };

        // A dotnet build or pack run from here must leave no MSBuild node or build server behind: one would hold
        // the redirected output open, and reading it to the end would wait for ever.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
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

        using var patience = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', start.ArgumentList)} did not finish within {timeout ?? TimeSpan.FromSeconds(60)}");
        }

        // Bounded too: a grandchild that inherited the output could otherwise keep it open after the program ended.
        using var drained = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return (process.ExitCode, await output.WaitAsync(drained.Token), await error.WaitAsync(drained.Token));
    }

    /// <summary>A loopback port free right now, for a server the test starts itself.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
