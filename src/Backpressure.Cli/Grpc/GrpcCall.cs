namespace Backpressure.Cli.Grpc;

/// <summary>The <c>backpressure.v1.Flow</c> call <c>bp grpc</c> makes.</summary>
internal enum GrpcCall
{
    /// <summary>Server streaming: the server writes, we read (slowly, with a read delay).</summary>
    Subscribe,

    /// <summary>Client streaming: we write as fast as the server's window lets us.</summary>
    Upload,
}
