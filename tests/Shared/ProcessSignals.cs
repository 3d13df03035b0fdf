using System.Runtime.InteropServices;

namespace Backpressure.Testing;

/// <summary>
/// POSIX signals to a process the tests started: .NET can only kill (SIGKILL), and a fresh machine need not have
/// procps' <c>kill</c>. Linux numbering; the projects that compile this allow the unsafe code LibraryImport generates.
/// </summary>
internal static partial class ProcessSignals
{
    /// <summary>SIGTERM: asks the process to stop, as a container runtime or systemd does.</summary>
    public const int Terminate = 15;

    /// <summary>SIGCONT: lets a stopped process run again.</summary>
    public const int Continue = 18;

    /// <summary>SIGSTOP: stops the process where it stands, as a hung host or a paused VM would.</summary>
    public const int Stop = 19;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>.</summary>
    /// <exception cref="InvalidOperationException">The signal could not be sent.</exception>
    public static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
