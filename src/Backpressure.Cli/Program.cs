using System.CommandLine;
using Backpressure.Cli.Demo;
using Backpressure.Cli.Grpc;
using Backpressure.Cli.Load;
using Backpressure.Cli.WebSockets;

var root = new RootCommand("bp: see backpressure happen. A hey-like load client and the collapse demo.")
{
    LoadCommand.Create(),
    DemoCommand.Create(),
    WebSocketCommand.Create(),
    GrpcCommand.Create(),
};
ParseResult parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // A short message and a pointer to the help, rather than the whole help text.
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"bp: {error.Message}");
    }

    Console.Error.WriteLine($"Run '{string.Join(' ', ["bp", .. parse.CommandResult.Command.Name == root.Name ? [] : new[] { parse.CommandResult.Command.Name }])} --help' for usage.");
    return 2;
}

return await parse.InvokeAsync();
