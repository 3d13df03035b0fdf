namespace Backpressure.AspNetCore;

/// <summary>
/// The names registered through every <see cref="BackpressureBuilder"/> of one service collection
/// (<c>AddBackpressure</c> may be called more than once), so a duplicate is caught at registration and a
/// required name can be checked at start-up.
/// </summary>
internal sealed class PolicyNames
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> All => _names;

    public void Add(string name)
    {
        if (!_names.Add(name))
        {
            throw new ArgumentException($"A backpressure policy named '{name}' is already registered; each policy needs a name of its own.", nameof(name));
        }
    }

    public bool Contains(string name) => _names.Contains(name);
}
