using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Backpressure.Http;
using Backpressure.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Backpressure.Http.Tests;

/// <summary>The client handler against a real Kestrel on 127.0.0.1 that answers as each test tells it.</summary>
public sealed class ClientBackpressureHandlerTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<long> _hits = new();
    private WebApplication _server = null!;
    private Func<HttpContext, Task> _answer = context => context.Response.WriteAsync("ok");

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _server = builder.Build();
        _server.MapMethods("/", ["GET", "POST"], context =>
        {
            _hits.Enqueue(Stopwatch.GetTimestamp());
            return _answer(context);
        });
        await _server.StartAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Uri Url => new(_server.Urls.First());

    private (ServiceProvider Services, HttpClient Client) NewClient(Action<HttpClientBackpressureOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddHttpClient("server", c => c.BaseAddress = Url).AddClientBackpressure(configure);
        ServiceProvider provider = services.BuildServiceProvider();
        return (provider, provider.GetRequiredService<IHttpClientFactory>().CreateClient("server"));
    }

    private static Task Refuse(HttpContext context, HttpStatusCode status, string? retryAfter = null)
    {
        context.Response.StatusCode = (int)status;
        if (retryAfter is not null)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        return context.Response.WriteAsync("busy");
    }

    [Fact]
    public async Task ToldRetryAfterTwoSeconds_TheClientHoldsItsNextCall_AndTheServerSeesNothingForTwoSeconds()
    {
        int calls = 0;
        _answer = context => Interlocked.Increment(ref calls) == 1 ? Refuse(context, HttpStatusCode.TooManyRequests, "2") : context.Response.WriteAsync("ok");
        (ServiceProvider services, HttpClient client) = NewClient(o => { o.MaxRetries = 0; o.Throttle = false; });
        using var _ = services;

        using HttpResponseMessage refused = await client.GetAsync("/");
        using HttpResponseMessage next = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        long[] hits = [.. _hits];
        Assert.Equal(2, hits.Length);
        TimeSpan gap = Stopwatch.GetElapsedTime(hits[0], hits[1]);
        Assert.True(gap >= TimeSpan.FromSeconds(1.9), $"the second call reached the server {gap} after the first");
    }

    [Fact]
    public async Task ARetryAfterShorterThanHoldEveryCallFrom_DoesNotHoldTheNextCall()
    {
        int calls = 0;
        _answer = context => Interlocked.Increment(ref calls) == 1 ? Refuse(context, HttpStatusCode.TooManyRequests, "1") : context.Response.WriteAsync("ok");
        (ServiceProvider services, HttpClient client) = NewClient(o => { o.MaxRetries = 0; o.Throttle = false; });
        using var _ = services;

        using HttpResponseMessage refused = await client.GetAsync("/");
        using HttpResponseMessage next = await client.GetAsync("/");

        long[] hits = [.. _hits];
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.True(Stopwatch.GetElapsedTime(hits[0], hits[1]) < TimeSpan.FromSeconds(0.9), "a one-second Retry-After held the next call");
    }

    [Fact]
    public async Task ToldRetryAfterMs_TheRetryWaitsThoseMilliseconds_NotRetryAftersWholeSecond()
    {
        int calls = 0;
        _answer = context =>
        {
            if (Interlocked.Increment(ref calls) > 1)
            {
                return context.Response.WriteAsync("ok");
            }

            context.Response.Headers[ServerRetryAfter.MillisecondsHeader] = "300";
            return Refuse(context, HttpStatusCode.TooManyRequests, "1");
        };
        (ServiceProvider services, HttpClient client) = NewClient(o => { o.MaxRetries = 1; o.Throttle = false; });
        using var _ = services;

        using HttpResponseMessage response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        long[] hits = [.. _hits];
        Assert.Equal(2, hits.Length);
        TimeSpan gap = Stopwatch.GetElapsedTime(hits[0], hits[1]);
        Assert.True(gap >= TimeSpan.FromMilliseconds(280) && gap < TimeSpan.FromMilliseconds(950), $"the retry reached the server {gap} after the refusal");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AThrottledCall_IsToldToComeBackAfterTheWaitTheServerLastAskedFor_WhenThatIsUnderASecond(bool shared)
    {
        // A server that keeps refusing with no wait, then (to a client with fresh state) one that says 40 ms: after ten
        // calls the throttle refuses most calls itself, and the first calls always reach the server.
        _answer = context => Refuse(context, HttpStatusCode.TooManyRequests);
        List<(string? Milliseconds, TimeSpan? Seconds)> unnamed;
        (ServiceProvider services, HttpClient client) = NewClient(o => { o.MaxRetries = 0; o.ShareLocalRefusals = shared; });
        using (services)
        {
            unnamed = await ThrottledWaits(client, calls: 40);
        }

        _answer = context =>
        {
            context.Response.Headers[ServerRetryAfter.MillisecondsHeader] = "40";
            return Refuse(context, HttpStatusCode.TooManyRequests, "1");
        };
        List<(string? Milliseconds, TimeSpan? Seconds)> named;
        (services, client) = NewClient(o => { o.MaxRetries = 0; o.ShareLocalRefusals = shared; });
        using (services)
        {
            named = await ThrottledWaits(client, calls: 40);
        }

        // Told no wait: a second. Told 40 ms: 40 ms, with Retry-After still its whole second.
        Assert.NotEmpty(unnamed);
        Assert.All(unnamed, wait => Assert.Equal(("1000", TimeSpan.FromSeconds(1)), wait));
        Assert.NotEmpty(named);
        Assert.All(named, wait => Assert.Equal(("40", TimeSpan.FromSeconds(1)), wait));
    }

    private static async Task<List<(string? Milliseconds, TimeSpan? Seconds)>> ThrottledWaits(HttpClient client, int calls)
    {
        var waits = new List<(string?, TimeSpan?)>();
        for (int i = 0; i < calls; i++)
        {
            using HttpResponseMessage response = await client.GetAsync("/");
            if (response.Headers.TryGetValues(ClientBackpressureHandler.LocalRefusalHeader, out IEnumerable<string>? why))
            {
                Assert.Equal("throttled", Assert.Single(why));
                waits.Add((response.Headers.GetValues(ServerRetryAfter.MillisecondsHeader).SingleOrDefault(), response.Headers.RetryAfter?.Delta));
            }
        }

        return waits;
    }

    [Fact]
    public async Task ToldRetryAfterTwoSeconds_WithFailFast_EveryCallForTwoSecondsIsAnsweredLocally_AndNoneReachesTheServer()
    {
        _answer = context => Refuse(context, HttpStatusCode.TooManyRequests, "2");
        (ServiceProvider services, HttpClient client) = NewClient(o => { o.MaxRetries = 0; o.Throttle = false; o.RetryAfter = RetryAfterHandling.FailFast; });
        using var _ = services;
        using (await client.GetAsync("/"))
        {
        }

        long told = Stopwatch.GetTimestamp();
        int local = 0;
        while (Stopwatch.GetElapsedTime(told) < TimeSpan.FromSeconds(1.5))
        {
            using HttpResponseMessage response = await client.GetAsync("/");
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.Equal("held", Assert.Single(response.Headers.GetValues(ClientBackpressureHandler.LocalRefusalHeader)));
            Assert.NotNull(response.Headers.RetryAfter?.Delta);
            local++;
            await Task.Delay(20);
        }

        Assert.Single(_hits);
        Assert.True(local > 10, $"only {local} calls were tried");
    }

    [Fact]
    public async Task AServerThatKeepsRefusing_GetsOnlyAFractionOfTheCalls_TheRestRefusedLocallyAndCounted()
    {
        _answer = context => Refuse(context, HttpStatusCode.ServiceUnavailable);
        (ServiceProvider services, HttpClient client) = NewClient(o => o.MaxRetries = 0);
        using var _ = services;
        using var collector = new MetricCollector<long>(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), BackpressureMeter.Name, "backpressure.client.requests");

        int throttled = 0;
        for (int i = 0; i < 300; i++)
        {
            using HttpResponseMessage response = await client.GetAsync("/");
            if (response.Headers.TryGetValues(ClientBackpressureHandler.LocalRefusalHeader, out IEnumerable<string>? why) && why.Single() == "throttled")
            {
                throttled++;
            }
        }

        Assert.True(_hits.Count < 60, $"the server got {_hits.Count} of 300 calls");
        Assert.Equal(300, _hits.Count + throttled);
        Assert.Equal(throttled, collector.GetMeasurementSnapshot().Where(m => (string?)m.Tags[BackpressureMeter.OutcomeTag] == "refused_locally").Sum(m => m.Value));
    }

    [Fact]
    public async Task AnAttemptTheThrottleRefuses_IsRetriedAsARefusalWouldBe_AndTheCallGetsThroughOnceTheThrottleLetsIt()
    {
        bool refusing = true;
        _answer = context => refusing ? Refuse(context, HttpStatusCode.ServiceUnavailable) : context.Response.WriteAsync("ok");

        var throttle = new ScriptedThrottle();
        var state = new ClientBackpressureState(
            ScriptedThrottle.WithOneQuickRetry(new HttpClientBackpressureOptions()), TimeProvider.System, meterFactory: null, random: throttle.Draws);
        using var client = new HttpClient(new ClientBackpressureHandler(state) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = Url };
        for (int i = 0; i < 20; i++)
        {
            using (await client.GetAsync("/"))
            {
            }
        }

        refusing = false;
        int before = _hits.Count;
        throttle.RefuseNext();

        using HttpResponseMessage response = await client.GetAsync("/");

        Assert.True(state.For(Url).Throttle!.RefusalProbability > 0.5, "the warm-up left the throttle refusing little");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains(ClientBackpressureHandler.LocalRefusalHeader));
        Assert.Equal(before + 1, _hits.Count);
    }

    [Fact]
    public async Task WithShareLocalRefusals_CallsThrottledAlikeGetOneReadOnlyAnswer_ThatOutlivesEachCallersDispose()
    {
        _answer = context => Refuse(context, HttpStatusCode.ServiceUnavailable);
        (ServiceProvider services, HttpClient client) = NewClient(o => { o.MaxRetries = 0; o.ShareLocalRefusals = true; });
        using var _ = services;

        var throttled = new List<HttpResponseMessage>();
        for (int i = 0; i < 300; i++)
        {
            using HttpResponseMessage response = await client.GetAsync("/");
            if (response.Headers.TryGetValues(ClientBackpressureHandler.LocalRefusalHeader, out IEnumerable<string>? why) && why.Single() == "throttled")
            {
                throttled.Add(response);
            }
        }

        Assert.True(throttled.Count > 200, $"only {throttled.Count} of 300 calls were throttled");
        HttpResponseMessage shared = throttled[0];
        Assert.All(throttled, response => Assert.Same(shared, response));

        // Every caller disposed it, and it still answers the next one whole.
        Assert.Equal(HttpStatusCode.TooManyRequests, shared.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), shared.Headers.RetryAfter?.Delta);
        Assert.Equal("", await shared.Content.ReadAsStringAsync());
        Assert.Null(shared.RequestMessage);
    }

    [Fact]
    public async Task WithShareLocalRefusals_CallsHeldBackAlike_GetOneAnswerPerWholeSecondOfRetryAfter()
    {
        _answer = context => Refuse(context, HttpStatusCode.TooManyRequests, "3");
        (ServiceProvider services, HttpClient client) = NewClient(o =>
        {
            o.MaxRetries = 0;
            o.Throttle = false;
            o.RetryAfter = RetryAfterHandling.FailFast;
            o.ShareLocalRefusals = true;
        });
        using var _ = services;
        using (await client.GetAsync("/"))
        {
        }

        var held = new List<HttpResponseMessage>();
        for (int i = 0; i < 20; i++)
        {
            using HttpResponseMessage response = await client.GetAsync("/");
            held.Add(response);
        }

        Assert.Single(_hits);
        Assert.All(held, response => Assert.Equal("held", Assert.Single(response.Headers.GetValues(ClientBackpressureHandler.LocalRefusalHeader))));
        foreach (IGrouping<TimeSpan?, HttpResponseMessage> wait in held.GroupBy(response => response.Headers.RetryAfter?.Delta))
        {
            Assert.InRange(wait.Key!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
            Assert.Single(wait.Distinct());
        }
    }

    [Fact]
    public async Task WithShareLocalRefusals_RefusingACallAllocatesNothing()
    {
        var handler = new ClientBackpressureHandler(new HttpClientBackpressureOptions
        {
            MaxRetries = 0,
            Throttle = false,
            RetryAfter = RetryAfterHandling.FailFast,
            ShareLocalRefusals = true,
        })
        {
            InnerHandler = new HttpClientHandler(),
        };
        using var invoker = new HttpMessageInvoker(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, Url);
        _answer = context => Refuse(context, HttpStatusCode.TooManyRequests, "3600");
        using (await invoker.SendAsync(request, CancellationToken.None))
        {
        }

        // Warmed up (the shared answer made, the code jitted), then measured on this thread alone.
        for (int i = 0; i < 100; i++)
        {
            (await invoker.SendAsync(request, CancellationToken.None)).Dispose();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            Task<HttpResponseMessage> refused = invoker.SendAsync(request, CancellationToken.None);
            Assert.True(refused.IsCompletedSuccessfully);
            (await refused).Dispose();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Single(_hits);
    }

    [Fact]
    public async Task Retries_StayWithinTheBudget_WhateverTheServerAnswers()
    {
        _answer = context => Refuse(context, HttpStatusCode.TooManyRequests);
        (ServiceProvider services, HttpClient client) = NewClient(o =>
        {
            o.Throttle = false;
            o.MaxRetries = 3;
            o.RetryDelay = TimeSpan.FromMilliseconds(1);
            o.RetryBudget = new() { RetryRatio = 0.1, MinRetriesPerWindow = 10, Window = TimeSpan.FromMinutes(10) };
        });
        using var _ = services;

        for (int i = 0; i < 100; i++)
        {
            using HttpResponseMessage response = await client.GetAsync("/");
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        }

        // 100 calls, and at most 10 % of them plus the floor of 10 as retries.
        Assert.InRange(_hits.Count, 101, 120);
    }

    [Fact]
    public async Task AnAnswerOtherThanOverloaded_IsPassedOnUntouched_AndARetriedCallCanSucceed()
    {
        int calls = 0;
        _answer = context => Interlocked.Increment(ref calls) == 1 ? Refuse(context, HttpStatusCode.ServiceUnavailable) : context.Response.WriteAsync("ok");
        (ServiceProvider services, HttpClient client) = NewClient(o => o.RetryDelay = TimeSpan.FromMilliseconds(1));
        using var _ = services;

        using HttpResponseMessage response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        Assert.Equal(2, _hits.Count);
    }

    [Fact]
    public async Task APostWithABody_IsNotRetried_WhereAGetIs()
    {
        _answer = context => Refuse(context, HttpStatusCode.ServiceUnavailable);
        (ServiceProvider services, HttpClient client) = NewClient(o => { o.Throttle = false; o.RetryDelay = TimeSpan.FromMilliseconds(1); });
        using var _ = services;

        using (await client.PostAsync("/", new StringContent("order")))
        {
        }

        int afterPost = _hits.Count;
        using (await client.GetAsync("/"))
        {
        }

        Assert.Equal(1, afterPost);
        Assert.Equal(1 + 3, _hits.Count);
    }

    [Fact]
    public void AnInvalidOption_ThrowsWhenTheClientIsCreated_NamingIt()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("server").AddClientBackpressure(o => o.Throttling.K = 0);
        using ServiceProvider provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IHttpClientFactory>().CreateClient("server"));

        Assert.Contains("Client backpressure of HttpClient 'server': Throttling.K must be from 1 to 100", e.Message, StringComparison.Ordinal);
    }
}
