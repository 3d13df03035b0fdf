namespace Backpressure.Server;

/// <summary>Endpoint metadata marking an operational endpoint (<c>/stats</c>, <c>/metrics</c>, <c>/alerts</c>, <c>/dashboard</c>), served where <see cref="ManagementOptions"/> say.</summary>
internal sealed class OperationalEndpoint
{
    /// <summary>The one instance endpoints carry.</summary>
    public static readonly OperationalEndpoint Instance = new();

    private OperationalEndpoint()
    {
    }
}
