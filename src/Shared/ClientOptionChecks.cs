namespace Backpressure;

/// <summary>
/// Shared source, compiled into each client adapter (HTTP, gRPC): the checks their options have in common, with
/// messages that name the property as the adapter's options spell it.
/// </summary>
internal static class ClientOptionChecks
{
    /// <summary>Runs a nested options object's validation, naming a bad property as <c>NAME.PROPERTY</c>.</summary>
    public static void Nested(object? options, Action validate, string name)
    {
        ArgumentNullException.ThrowIfNull(options, name);
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{name}.{e.Message}", $"{name}.{e.ParamName}", e);
        }
    }

    /// <summary>Checks the retries of one call: from 0 to 10.</summary>
    public static void MaxRetries(int value, string name)
    {
        if (value is < 0 or > 10)
        {
            throw new ArgumentException($"{name} must be from 0 to 10 (was {value}).", name);
        }
    }

    /// <summary>Checks the pause before a retry: from 1 ms to 1 minute.</summary>
    public static void RetryDelay(TimeSpan value, string name)
    {
        if (value < TimeSpan.FromMilliseconds(1) || value > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException($"{name} must be from 1 ms to 1 minute (was {value}).", name);
        }
    }
}
