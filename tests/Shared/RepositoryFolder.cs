namespace Backpressure.Testing;

/// <summary>The repository's root folder, found above the test's own folder, for tests that run files the repository ships (scripts, rules).</summary>
internal static class RepositoryFolder
{
    public static string Root { get; } = Find();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(folder.FullName, "Backpressure.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Backpressure.slnx) is not above the test's folder");
    }
}
