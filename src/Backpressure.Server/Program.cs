using Backpressure.Server;

return await ServerApplication.RunAsync(args, Console.Error);
