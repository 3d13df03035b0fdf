using System.Diagnostics;
using System.Net;
using StackExchange.Redis;

namespace Backpressure.Testing;

/// <summary>
/// A real <c>redis-server</c> (Debian's, installed by scripts/bootstrap.sh) on a free loopback port,
/// with nothing persisted; stopped and started again on the same port by the fault tests. Compiled
/// into each test project that needs it.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private readonly string? _password;
    private Process? _process;

    public RedisServer()
    {
    }

    /// <summary>A server that requires <paramref name="password"/> (<c>requirepass</c>: the default user's password).</summary>
    internal RedisServer(string password) => _password = password;

    public int Port { get; private set; }

    public string Configuration =>
        $"127.0.0.1:{Port},abortConnect=false,connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000{(_password is null ? "" : ",password=" + _password)}";

    public async Task InitializeAsync()
    {
        // A port found free can be taken before redis-server binds it (by another test process's server);
        // StartAsync notices, and a fresh port is tried.
        for (int attempt = 1; ; attempt++)
        {
            Port = ExternalCommand.FreePort();
            try
            {
                await StartAsync();
                return;
            }
            catch (PortTakenException) when (attempt < 3)
            {
            }
        }
    }

    public async Task StartAsync()
    {
        string[] password = _password is null ? [] : ["--requirepass", _password];
        _process = Launch(["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", .. password]);
        for (int i = 0; i < 100; i++)
        {
            try
            {
                int answering = await ProcessIdOnPortAsync();
                if (answering == _process.Id)
                {
                    return;
                }

                await KillAsync();
                throw new PortTakenException($"port {Port} is answered by redis-server {answering}, not by the one started here");
            }
            catch (RedisConnectionException)
            {
                if (_process.HasExited)
                {
                    throw new PortTakenException($"redis-server exited at start on port {Port} (exit code {_process.ExitCode})");
                }

                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"redis-server did not listen on port {Port} within 5 s");
    }

    /// <summary>
    /// Starts a <c>redis-server</c> with <paramref name="arguments"/>, its output read and dropped (a full pipe would stall
    /// it); for servers this fixture does not describe (a cluster's nodes, a TLS-only server).
    /// </summary>
    internal static Process Launch(IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start; run scripts/bootstrap.sh redis-server");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The <c>process_id</c> that the Redis on <see cref="Port"/> reports, so a test never talks to a server it did not start.</summary>
    /// <exception cref="RedisConnectionException">Nothing answers on the port yet.</exception>
    private async Task<int> ProcessIdOnPortAsync()
    {
        var options = new ConfigurationOptions { EndPoints = { { IPAddress.Loopback, Port } }, AbortOnConnectFail = true, ConnectTimeout = 1000, AllowAdmin = true, Password = _password };
        await using ConnectionMultiplexer probe = await ConnectionMultiplexer.ConnectAsync(options);
        IGrouping<string, KeyValuePair<string, string>>[] info = await probe.GetServer(probe.GetEndPoints()[0]).InfoAsync("server");
        string processId = info.SelectMany(section => section).FirstOrDefault(pair => pair.Key == "process_id").Value
            ?? throw new InvalidOperationException($"the server on port {Port} did not report its process_id");
        return int.Parse(processId, System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed class PortTakenException(string message) : Exception(message);

    /// <summary>Stops the process (SIGSTOP), as a hung Redis or a paused VM: connections stay open and nothing answers.</summary>
    public void Pause() => ProcessSignals.Send(Pid, ProcessSignals.Stop);

    /// <summary>Lets a paused process run again (SIGCONT).</summary>
    public void Resume() => ProcessSignals.Send(Pid, ProcessSignals.Continue);

    private int Pid => _process?.Id ?? throw new InvalidOperationException("redis-server is not running");

    /// <summary>Kills the server, as a crash would: no shutdown, nothing saved.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>
    /// A connection whose commands fail after one second (<see cref="Configuration"/>), as the fault tests
    /// need to see an outage quickly. <paramref name="configure"/> may change any option.
    /// </summary>
    public async Task<ConnectionMultiplexer> ConnectAsync(Action<ConfigurationOptions>? configure = null)
    {
        var options = ConfigurationOptions.Parse(Configuration);
        configure?.Invoke(options);
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    /// <summary>
    /// A connection whose commands may take up to 30 s, for tests of what the scripts decide rather than
    /// of outages: in a cold test process on a busy machine the first script call (JIT, <c>NOSCRIPT</c>
    /// and the script sent again) can outlast one second, and a store takes the timeout for an outage.
    /// </summary>
    public Task<ConnectionMultiplexer> ConnectPatientlyAsync(Action<ConfigurationOptions>? configure = null) => ConnectAsync(o =>
    {
        o.AsyncTimeout = 30_000;
        o.SyncTimeout = 30_000;
        configure?.Invoke(o);
    });

    public Task DisposeAsync() => KillAsync();
}
