using System.Diagnostics;
using System.Text;

namespace Backpressure.Testing;

/// <summary>
/// The server's own assembly run as a separate process: a second or third instance behind a load balancer,
/// or a server a test stops with a real signal. Its output is kept for the test to read.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, int port, int grpcPort)
    {
        _process = process;
        Port = port;
        GrpcPort = grpcPort;
    }

    /// <summary>The HTTP listener's port.</summary>
    public int Port { get; }

    /// <summary>The gRPC listener's port.</summary>
    public int GrpcPort { get; }

    /// <summary>Everything the process wrote to standard output and standard error so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the server on free loopback ports with <paramref name="settings"/> (command-line settings) after the defaults.</summary>
    public static ServerProcess Start(IEnumerable<string> settings)
    {
        int port = ExternalCommand.FreePort();
        int grpcPort = ExternalCommand.FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "Backpressure.Server.dll"), "--urls", $"http://127.0.0.1:{port}",
            $"--Backpressure:Grpc:Url=http://127.0.0.1:{grpcPort}", "--Logging:LogLevel:Default=Warning",
        }.Concat(settings))
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var server = new ServerProcess(process, port, grpcPort);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>An address on the HTTP listener.</summary>
    public Uri Url(string path) => new($"http://127.0.0.1:{Port}{path}");

    /// <summary>The gRPC listener's address.</summary>
    public Uri GrpcUrl => new($"http://127.0.0.1:{GrpcPort}");

    /// <summary>Waits (at most 15 s) until the server answers.</summary>
    public async Task WaitUntilReadyAsync(HttpClient client)
    {
        for (int i = 0; i < 150; i++)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the server exited with {_process.ExitCode} at start: {Output}");
            }

            try
            {
                using HttpResponseMessage response = await client.GetAsync(Url("/overhead/bare"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"the server on port {Port} did not start within 15 s");
    }

    /// <summary>Sends SIGTERM, as a container runtime or systemd does to stop a service.</summary>
    public void Terminate() => ProcessSignals.Send(_process.Id, ProcessSignals.Terminate);

    /// <summary>Waits for the process to exit, at most <paramref name="patience"/>, and returns its exit code.</summary>
    /// <exception cref="TimeoutException">It was still running.</exception>
    public async Task<int> WaitForExitAsync(TimeSpan patience)
    {
        using var timeout = new CancellationTokenSource(patience);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the server was still running after {patience}");
        }

        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
