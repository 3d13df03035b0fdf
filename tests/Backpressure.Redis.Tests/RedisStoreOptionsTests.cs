namespace Backpressure.Redis.Tests;

public sealed class RedisStoreOptionsTests
{
    [Theory]
    [InlineData(nameof(RedisStoreOptions.KeyPrefix))]
    [InlineData(nameof(RedisStoreOptions.Timeout))]
    [InlineData(nameof(RedisStoreOptions.ProbeInterval))]
    [InlineData(nameof(RedisStoreOptions.GaugeLeaseTime))]
    [InlineData(nameof(RedisStoreOptions.FailurePolicy))]
    [InlineData(nameof(RedisStoreOptions.Clock))]
    public void AnOutOfRangeOption_IsRefusedNamingIt(string property)
    {
        var options = new RedisStoreOptions();
        switch (property)
        {
            case nameof(RedisStoreOptions.KeyPrefix): options.KeyPrefix = "a{b}"; break;
            case nameof(RedisStoreOptions.Timeout): options.Timeout = TimeSpan.Zero; break;
            case nameof(RedisStoreOptions.ProbeInterval): options.ProbeInterval = TimeSpan.FromHours(1); break;
            case nameof(RedisStoreOptions.GaugeLeaseTime): options.GaugeLeaseTime = TimeSpan.FromMilliseconds(5); break;
            case nameof(RedisStoreOptions.FailurePolicy): options.FailurePolicy = (RedisFailurePolicy)7; break;
            default: options.Clock = (RedisClock)7; break;
        }

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Equal(property, error.ParamName);
        Assert.Contains(property, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheDefaultsAreValid() => new RedisStoreOptions().Validate();
}
