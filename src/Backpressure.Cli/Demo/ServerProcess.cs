using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Backpressure.Cli.Demo;

/// <summary>
/// The reference server as a child process on a free loopback port, under a GC heap hard limit
/// (<c>DOTNET_GCHeapHardLimit</c>), with its peak resident memory sampled while it runs.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly CancellationTokenSource _sampling = new();
    private readonly Task _sampler;
    private readonly Queue<string> _lastLines = new();
    private readonly HttpClient _statsClient = new() { Timeout = TimeSpan.FromSeconds(1) };
    private long _peakBytes;
    private int _peakCallsInFlight;

    private ServerProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        _sampler = SamplePeakMemoryAsync(_sampling.Token);
    }

    public Uri BaseAddress { get; }

    /// <summary>The highest resident set size seen, in bytes.</summary>
    public long PeakMemoryBytes => Interlocked.Read(ref _peakBytes);

    public bool HasExited => _process.HasExited;

    /// <summary>The most seed-work calls in flight at once, as the server last reported it.</summary>
    public int PeakCallsInFlight => Volatile.Read(ref _peakCallsInFlight);

    /// <summary>The last lines the server wrote, for telling why it died.</summary>
    public IReadOnlyList<string> LastOutput
    {
        get
        {
            lock (_lastLines)
            {
                return [.. _lastLines];
            }
        }
    }

    public static async Task<ServerProcess> StartAsync(DemoSettings settings, CancellationToken ct)
    {
        if (!File.Exists(settings.ServerPath))
        {
            throw new FileNotFoundException($"The server was not found at {settings.ServerPath}.", settings.ServerPath);
        }

        int port = FreeLoopbackPort();
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
        {
            settings.ServerPath,
            "--urls", $"http://127.0.0.1:{port}",
            "--Backpressure:Grpc:Url=http://127.0.0.1:0",
            $"--SeedWork:MemoryPerCallMegabytes={settings.MemoryPerCallMegabytes}",
            $"--SeedWork:CpuTime={settings.CpuTime:c}",
            $"--SeedWork:IoTime={settings.IoTime:c}",
            $"--Backpressure:Gauges:backpressure:PermitLimit={settings.GaugeLimit}",
        })
        {
            start.ArgumentList.Add(arg);
        }

        long limitBytes = settings.MemoryLimitMegabytes * 1024L * 1024L;
        start.Environment["DOTNET_GCHeapHardLimit"] = limitBytes.ToString("x", CultureInfo.InvariantCulture);
        start.Environment["DOTNET_gcServer"] = "0";

        var process = Process.Start(start) ?? throw new InvalidOperationException("The server process did not start.");
        var server = new ServerProcess(process, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, e) => server.Remember(e.Data);
        process.ErrorDataReceived += (_, e) => server.Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await server.WaitUntilReadyAsync(ct);
        return server;
    }

    /// <summary>True when the server is running and answers a trivial request within a few seconds.</summary>
    public async Task<bool> IsAnsweringAsync()
    {
        if (_process.HasExited)
        {
            return false;
        }

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(new Uri(BaseAddress, "/overhead/bare"));
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _sampling.CancelAsync();
        await _sampler;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _sampling.Dispose();
        _statsClient.Dispose();
    }

    private async Task WaitUntilReadyAsync(CancellationToken ct)
    {
        var deadline = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(deadline) < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"The server exited with code {_process.ExitCode} while starting:{Environment.NewLine}{string.Join(Environment.NewLine, LastOutput)}");
            }

            if (await IsAnsweringAsync())
            {
                return;
            }

            await Task.Delay(100, ct);
        }

        throw new TimeoutException("The server did not answer within 30 s of starting.");
    }

    private async Task SamplePeakMemoryAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        int tick = 0;
        try
        {
            do
            {
                if (tick++ % 5 == 0)
                {
                    await ReadServerStatisticsAsync(ct);
                }

                if (_process.HasExited)
                {
                    return;
                }

                _process.Refresh();

                // On Linux the peak working set is the kernel's high-water mark (VmHWM), so short
                // spikes between samples are not missed.
                long peak = Math.Max(_process.PeakWorkingSet64, _process.WorkingSet64);
                if (peak > Interlocked.Read(ref _peakBytes))
                {
                    Interlocked.Exchange(ref _peakBytes, peak);
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException)
        {
        }
        catch (InvalidOperationException)
        {
            // The process exited between the check and the read.
        }
    }

    /// <summary>Reads the peak of calls in flight from the server's own <c>/stats</c>; a server too busy or dead to answer keeps the last figure.</summary>
    private async Task ReadServerStatisticsAsync(CancellationToken ct)
    {
        try
        {
            using var stats = JsonDocument.Parse(await _statsClient.GetStringAsync(new Uri(BaseAddress, "/stats"), ct));
            int peak = stats.RootElement.GetProperty("seed_work").GetProperty("peak_in_flight").GetInt32();
            Volatile.Write(ref _peakCallsInFlight, Math.Max(peak, PeakCallsInFlight));
        }
        catch (HttpRequestException)
        {
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
        }
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lastLines)
        {
            _lastLines.Enqueue(line);
            while (_lastLines.Count > 20)
            {
                _lastLines.Dequeue();
            }
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string DotnetHost()
    {
        string? current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        string? root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        return root is not null && File.Exists(Path.Combine(root, "dotnet")) ? Path.Combine(root, "dotnet") : "dotnet";
    }
}
