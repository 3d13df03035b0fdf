namespace Backpressure.RateLimiting;

/// <summary>The range checks options share, each throwing <see cref="ArgumentException"/> naming the property.</summary>
internal static class OptionChecks
{
    public static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentException($"{name} must be greater than zero (was {value}).", name);
        }
    }

    public static void NotNegative(int value, string name)
    {
        if (value < 0)
        {
            throw new ArgumentException($"{name} must be zero or more (was {value}).", name);
        }
    }

    public static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{name} must be greater than zero (was {value}).", name);
        }
    }
}
