using System.IO.Compression;
using System.Net;
using System.Xml.Linq;
using StackExchange.Redis;

namespace Backpressure.Packages.Tests;

/// <summary>The packages a user installs: what is in them, and an app built from them alone.</summary>
public sealed class PackageTests(PackedLibraries packages, RedisServer redis) : IClassFixture<PackedLibraries>, IClassFixture<RedisServer>
{
    public static TheoryData<string> Libraries => new(PackedLibraries.Projects.Where(p => p != "Backpressure.Cli"));

    [Theory]
    [MemberData(nameof(Libraries))]
    public void EveryLibraryPackage_CarriesItsReadmeLicenseXmlDocsAndASymbolPackage(string id)
    {
        string package = Path.Combine(packages.Folder, $"{id}.{packages.Version}.nupkg");
        using ZipArchive archive = ZipFile.OpenRead(package);
        XDocument nuspec = XDocument.Load(archive.GetEntry($"{id}.nuspec")!.Open());
        XNamespace ns = nuspec.Root!.Name.Namespace;
        XElement metadata = nuspec.Root.Element(ns + "metadata")!;

        Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
        Assert.Equal("expression", metadata.Element(ns + "license")?.Attribute("type")?.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
        Assert.NotNull(archive.GetEntry("README.md"));
        Assert.NotNull(archive.GetEntry($"lib/net10.0/{id}.dll"));
        Assert.NotNull(archive.GetEntry($"lib/net10.0/{id}.xml"));
        Assert.True(File.Exists(Path.Combine(packages.Folder, $"{id}.{packages.Version}.snupkg")), "no symbol package");
    }

    [Fact]
    public async Task ASampleApp_BuiltFromThePackagesAlone_PutsAnEndpointBehindAGaugeAndARateLimitOnRedis()
    {
        string app = Directory.CreateTempSubdirectory("bp-sample-").FullName;
        try
        {
            await WriteSampleAsync(app);
            var (exit, output, error) = await ExternalCommand.RunAsync(
                "dotnet", ["build", app, "-c", "Release", "--nologo", "-v", "q", "--disable-build-servers"], timeout: TimeSpan.FromMinutes(3));
            Assert.True(exit == 0, $"the sample did not build from the packages:\n{output}\n{error}");
            Assert.DoesNotContain("ProjectReference", await File.ReadAllTextAsync(Path.Combine(app, "Sample.csproj")), StringComparison.Ordinal);

            string prefix = $"sample{Guid.NewGuid():N}";
            int port = ExternalCommand.FreePort();
            using var sample = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet")
            {
                ArgumentList =
                {
                    Path.Combine(app, "bin", "Release", "net10.0", "Sample.dll"), "--urls", $"http://127.0.0.1:{port}",
                    $"--Redis:Configuration={redis.Configuration}", $"--Redis:KeyPrefix={prefix}",
                    "--RateLimits:api:TokenLimit=2", "--RateLimits:api:TokensPerPeriod=1", "--RateLimits:api:ReplenishmentPeriod=01:00:00",
                },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;

            // Drained, so that the sample's log lines can never fill the pipe and stop it.
            sample.OutputDataReceived += (_, _) => { };
            sample.BeginOutputReadLine();
            try
            {
                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
                await WaitUntilListeningAsync(client, sample);

                HttpStatusCode[] api = [await StatusOf(client, "/api"), await StatusOf(client, "/api"), await StatusOf(client, "/api")];
                Task<HttpResponseMessage> held = client.GetAsync("/work");
                await Task.Delay(TimeSpan.FromMilliseconds(500));
                using HttpResponseMessage crowded = await client.GetAsync("/work");
                using HttpResponseMessage admitted = await held;

                Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], api);
                Assert.Equal(HttpStatusCode.TooManyRequests, crowded.StatusCode);
                Assert.NotNull(crowded.Headers.RetryAfter);
                Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);

                // The token bucket's state is in Redis, under the prefix the sample was given.
                await using ConnectionMultiplexer connection = await redis.ConnectAsync();
                IServer server = connection.GetServer(connection.GetEndPoints()[0]);
                Assert.NotEmpty(server.Keys(pattern: $"*{prefix}*").ToList());
            }
            finally
            {
                sample.Kill(entireProcessTree: true);
                await sample.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }

    [Fact]
    public async Task TheBpToolPackage_InstallsAndRuns()
    {
        string tools = Directory.CreateTempSubdirectory("bp-tool-").FullName;
        try
        {
            var (exit, output, error) = await ExternalCommand.RunAsync(
                "dotnet", ["tool", "install", "Backpressure.Cli", "--tool-path", tools, "--add-source", packages.Folder, "--version", packages.Version],
                timeout: TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, $"dotnet tool install failed:\n{output}\n{error}");

            (exit, output, error) = await ExternalCommand.RunAsync(Path.Combine(tools, "bp"), ["--help"]);

            Assert.True(exit == 0, $"bp --help failed:\n{output}\n{error}");
            Assert.Contains("load", output, StringComparison.Ordinal);
            Assert.Contains("demo", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(tools, recursive: true);
        }
    }

    private static async Task<HttpStatusCode> StatusOf(HttpClient client, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(path);
        return response.StatusCode;
    }

    private static async Task WaitUntilListeningAsync(HttpClient client, System.Diagnostics.Process sample)
    {
        for (int i = 0; i < 150; i++)
        {
            if (sample.HasExited)
            {
                Assert.Fail($"the sample exited:\n{await sample.StandardError.ReadToEndAsync()}");
            }

            try
            {
                using HttpResponseMessage response = await client.GetAsync("/");
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(200);
            }
        }

        Assert.Fail("the sample did not start listening within 30 s");
    }

    private async Task WriteSampleAsync(string folder)
    {
        // Only the packages folder and nuget.org: nothing of this repository is visible to the build.
        await File.WriteAllTextAsync(Path.Combine(folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="packed" value="{packages.Folder}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(folder, "Sample.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Backpressure.AspNetCore" Version="{packages.Version}" />
                <PackageReference Include="Backpressure.Redis" Version="{packages.Version}" />
              </ItemGroup>
            </Project>
            """);
        // The calls of the README's "Use it in your own app".
        await File.WriteAllTextAsync(Path.Combine(folder, "Program.cs"), """
            using Backpressure.AspNetCore;
            using Backpressure.Redis;

            var builder = WebApplication.CreateSlimBuilder(args);
            builder.Services.AddBackpressure(bp =>
            {
                bp.AddPressureGauge("work", o => o.PermitLimit = 1);
                bp.AddTokenBucket("api", builder.Configuration.GetSection("RateLimits:api"));
                bp.UseRedis(builder.Configuration.GetSection("Redis"));
            });

            var app = builder.Build();
            app.MapGet("/", () => "sample");
            app.MapGet("/work", async () => { await Task.Delay(TimeSpan.FromSeconds(2)); return "done"; }).RequireBackpressure("work");
            app.MapGet("/api", () => "ok").RequireBackpressure("api");
            app.Run();
            """);
    }
}
