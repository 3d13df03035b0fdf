using Backpressure.Server;

await ServerApplication.Build(args).RunAsync();
