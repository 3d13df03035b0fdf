using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using Backpressure.RateLimiting;
using StackExchange.Redis;

namespace Backpressure.Redis.Tests;

/// <summary>
/// A real redis-server that speaks only TLS, with a certificate made for the test: what production needs is
/// StackExchange.Redis's configuration (<c>ssl=true,sslHost=…</c>) and its certificate validation, passed through.
/// </summary>
public sealed class RedisTlsTests : IAsyncLifetime
{
    private static readonly FixedWindowLimiterOptions ThreeAnHour = new() { PermitLimit = 3, Window = TimeSpan.FromHours(1) };
    private readonly string _folder = Directory.CreateTempSubdirectory("redis-tls-").FullName;
    private X509Certificate2 _certificate = null!;
    private Process _redis = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        _certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        await File.WriteAllTextAsync(Path.Combine(_folder, "cert.pem"), _certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_folder, "key.pem"), key.ExportPkcs8PrivateKeyPem());

        _port = ExternalCommand.FreePort();
        _redis = RedisServer.Launch(
        [
            "--port", "0", "--tls-port", _port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--tls-cert-file", Path.Combine(_folder, "cert.pem"), "--tls-key-file", Path.Combine(_folder, "key.pem"),
            "--tls-ca-cert-file", Path.Combine(_folder, "cert.pem"), "--tls-auth-clients", "no", "--save", "", "--appendonly", "no",
        ]);
    }

    public async Task DisposeAsync()
    {
        if (!_redis.HasExited)
        {
            _redis.Kill();
            await _redis.WaitForExitAsync();
        }

        _redis.Dispose();
        _certificate.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task OverTls_TheStoreKeepsTheLimitInRedis_AndAPlainConnectionToTheTlsPortIsAnOutage()
    {
        ConfigurationOptions tls = ConfigurationOptions.Parse(
            $"127.0.0.1:{_port},ssl=true,sslHost=localhost,abortConnect=false,connectTimeout=2000,asyncTimeout=30000");
        // The certificate is the test's own: trusted by its thumbprint, as a private CA would be by TrustIssuer.
        string thumbprint = _certificate.GetCertHashString();
        tls.CertificateValidation += (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == thumbprint;
        await using ConnectionMultiplexer secure = await ConnectWhenListeningAsync(tls);
        var store = new RedisStore(secure, new RedisStoreOptions { KeyPrefix = $"tls{Guid.NewGuid():N}", Timeout = TimeSpan.FromSeconds(30) });
        using var limiter = new RedisFixedWindowLimiter(store, "tls", ThreeAnHour);
        using RateLimitLease admitted = await limiter.AcquireAsync();
        bool kept = await secure.GetDatabase().KeyExistsAsync(limiter.Key);

        await using ConnectionMultiplexer plain = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_port},abortConnect=false,connectTimeout=1000");
        var refusing = new RedisStore(plain, new RedisStoreOptions
        {
            KeyPrefix = $"tls{Guid.NewGuid():N}", FailurePolicy = RedisFailurePolicy.FailClosed, Timeout = TimeSpan.FromMilliseconds(300),
        });
        using var refusingLimiter = new RedisFixedWindowLimiter(refusing, "tls", ThreeAnHour);
        using RateLimitLease refused = await refusingLimiter.AcquireAsync();

        Assert.True(secure.IsConnected);
        Assert.True(admitted.IsAcquired);
        Assert.True(kept, "the window's count should be kept in Redis over TLS");
        Assert.False(plain.IsConnected);
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(LimiterMetadata.Unavailable, out string? _));
    }

    private static async Task<ConnectionMultiplexer> ConnectWhenListeningAsync(ConfigurationOptions options)
    {
        ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(options);
        for (int i = 0; i < 100 && !connection.IsConnected; i++)
        {
            await Task.Delay(100);
        }

        return connection;
    }
}
