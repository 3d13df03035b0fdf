using System.CommandLine;
using System.CommandLine.Parsing;
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

    // The command's whole path (bp grpc subscribe), not only its own name.
    var path = new Stack<string>();
    for (SymbolResult? at = parse.CommandResult; at is CommandResult { Command: var command } && command != root; at = at.Parent)
    {
        path.Push(command.Name);
    }

    Console.Error.WriteLine($"Run '{string.Join(' ', ["bp", .. path])} --help' for usage.");
    return 2;
}

return await parse.InvokeAsync();
