using Microsoft.Extensions.Options;

namespace Backpressure;

/// <summary>
/// Shared source, compiled into each library that validates options (as dotnet/runtime shares its
/// Common sources), so no assembly exposes it.
/// Runs an options class's own <c>Validate()</c>, which throws <see cref="ArgumentException"/>
/// naming the property, as an <see cref="IValidateOptions{TOptions}"/>, so a bad configuration
/// stops start-up (with <c>ValidateOnStart</c>) with that message instead of failing the first request.
/// </summary>
/// <param name="kind">What the options configure, for the message: "Pressure gauge", "Rate-limit policy".</param>
/// <param name="onlyName">The one named instance this validator answers for; null for all.</param>
/// <param name="validate">The options' own validation.</param>
internal sealed class OptionsValidator<TOptions>(string kind, string? onlyName, Action<TOptions> validate) : IValidateOptions<TOptions>
    where TOptions : class
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        if (onlyName is not null && name != onlyName)
        {
            return ValidateOptionsResult.Skip;
        }

        try
        {
            validate(options);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(string.IsNullOrEmpty(name) ? $"{kind}: {e.Message}" : $"{kind} '{name}': {e.Message}");
        }
    }
}
