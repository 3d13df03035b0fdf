using Microsoft.Extensions.Options;

namespace Backpressure.AspNetCore;

/// <summary>
/// Runs <see cref="PressureGaugeOptions.Validate"/> for named options, so a bad configuration
/// stops start-up (with <c>ValidateOnStart</c>) instead of failing the first request.
/// </summary>
internal sealed class PressureGaugeOptionsValidator : IValidateOptions<PressureGaugeOptions>
{
    public ValidateOptionsResult Validate(string? name, PressureGaugeOptions options)
    {
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail($"Pressure gauge '{name}': {e.Message}");
        }
    }
}
