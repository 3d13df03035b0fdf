namespace Backpressure.Packages.Tests;

/// <summary>
/// Packs every library and <c>bp</c> once per test run into a folder of its own, under a version no earlier run
/// used (so NuGet's package cache can never hand back an older build of the same version).
/// </summary>
public sealed class PackedLibraries : IAsyncLifetime
{
    public static readonly string[] Projects = ["Backpressure", "Backpressure.AspNetCore", "Backpressure.Grpc", "Backpressure.Http", "Backpressure.Redis", "Backpressure.Cli"];

    public string Folder { get; } = Directory.CreateTempSubdirectory("bp-packages-").FullName;

    public string Version { get; } = $"0.1.0-test.{TimeProvider.System.GetUtcNow():yyyyMMddHHmmss}.{Environment.ProcessId}";

    public async Task InitializeAsync()
    {
        foreach (string project in Projects)
        {
            var (exit, output, error) = await ExternalCommand.RunAsync(
                "dotnet",
                ["pack", RepositoryFolder.Path("src", project, $"{project}.csproj"), "-c", "Release", "--no-build", "--nologo",
                 "-o", Folder, $"-p:Version={Version}", "--disable-build-servers"],
                timeout: TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, $"dotnet pack {project} failed:\n{output}\n{error}");
        }
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }
}
