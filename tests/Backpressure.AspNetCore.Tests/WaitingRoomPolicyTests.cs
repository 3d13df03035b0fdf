using System.Collections.Concurrent;
using System.Net;
using Backpressure.Admission;
using Backpressure.AspNetCore.Admission;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Backpressure.AspNetCore.Tests;

/// <summary><c>AddWaitingRoom</c> on Kestrel: who waits, who goes first, who is shed and what they are told.</summary>
public sealed class WaitingRoomPolicyTests
{
    private static HttpRequestMessage Get(string path, string? criticality = null, string? deadline = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (criticality is not null)
        {
            request.Headers.Add("X-Criticality", criticality);
        }

        if (deadline is not null)
        {
            request.Headers.Add("X-Deadline-Ms", deadline);
        }

        return request;
    }

    /// <summary>A server whose "/" holds its permit until released, behind a room in front of a one-permit gauge.</summary>
    private static async Task<(WebApplication App, ConcurrentQueue<string> Entered, TaskCompletionSource Release)> StartAsync(Action<WaitingRoomPolicyOptions> configure)
    {
        var builder = TestHosts.NewBuilder();
        builder.Services.AddBackpressure(bp => bp
            .AddPressureGauge("one", o =>
            {
                o.PermitLimit = 1;
                o.InitialHoldTimeEstimate = TimeSpan.FromMilliseconds(200);
            })
            .AddWaitingRoom("room", "one", o =>
            {
                o.CriticalityHeader = "X-Criticality";
                o.DeadlineHeader = "X-Deadline-Ms";
                configure(o);
            }));
        var app = builder.Build();
        var entered = new ConcurrentQueue<string>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.MapGet("/", async (HttpRequestMessageName name) =>
        {
            entered.Enqueue(name.Value);
            await release.Task;
            return "ok";
        }).RequireBackpressure("room");
        app.MapGet("/batch", () => "ok").WithCriticality(Criticality.Batch).RequireBackpressure("room");
        await app.StartAsync();
        return (app, entered, release);
    }

    [Fact]
    public async Task WhenAPermitComesBack_AWaitingCriticalRequestGoesBeforeABatchOneThatCameFirst()
    {
        (WebApplication app, ConcurrentQueue<string> entered, TaskCompletionSource release) = await StartAsync(_ => { });
        await using var _ = app;
        using var client = TestHosts.ClientOf(app);

        Task<HttpResponseMessage> first = client.SendAsync(Get("/?name=first"));
        await WaitUntil(() => entered.Count == 1);
        Task<HttpResponseMessage> batch = client.SendAsync(Get("/?name=batch", "batch"));
        await WaitUntil(() => QueuedCount(app) == 1);
        Task<HttpResponseMessage> critical = client.SendAsync(Get("/?name=critical", "critical"));
        await WaitUntil(() => QueuedCount(app) == 2);
        release.SetResult();
        HttpResponseMessage[] responses = await Task.WhenAll(first, batch, critical);

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Assert.Equal(["first", "critical", "batch"], entered);
        await app.StopAsync();
    }

    [Fact]
    public async Task ARefusal_SaysWhichCriticalityWasShedAndWhy_WithARetryAfter()
    {
        (WebApplication app, ConcurrentQueue<string> entered, TaskCompletionSource release) = await StartAsync(o => o.Room.QueueLimit = 0);
        await using var _ = app;
        using var client = TestHosts.ClientOf(app);

        Task<HttpResponseMessage> held = client.SendAsync(Get("/?name=held"));
        await WaitUntil(() => entered.Count == 1);
        using HttpResponseMessage refused = await client.SendAsync(Get("/?name=refused", "sheddable"));
        using HttpResponseMessage batch = await client.GetAsync("/batch");
        release.SetResult();
        using HttpResponseMessage admitted = await held;

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("sheddable; reason=limit_full", Assert.Single(refused.Headers.GetValues("Backpressure-Shed")));
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.Equal("batch; reason=limit_full", Assert.Single(batch.Headers.GetValues("Backpressure-Shed")));
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task ARequestWhoseDeadlineIsShorterThanTheServiceTime_IsShedAtOnce()
    {
        (WebApplication app, ConcurrentQueue<string> entered, TaskCompletionSource release) = await StartAsync(_ => { });
        await using var _ = app;
        using var client = TestHosts.ClientOf(app);

        Task<HttpResponseMessage> held = client.SendAsync(Get("/?name=held"));
        await WaitUntil(() => entered.Count == 1);
        using HttpResponseMessage hopeless = await client.SendAsync(Get("/?name=hopeless", deadline: "50"));
        release.SetResult();
        using HttpResponseMessage admitted = await held;

        Assert.Equal(HttpStatusCode.TooManyRequests, hopeless.StatusCode);
        Assert.Equal("normal; reason=deadline", Assert.Single(hopeless.Headers.GetValues("Backpressure-Shed")));
        await app.StopAsync();
    }

    [Theory]
    [InlineData("X-Criticality", "urgent", "X-Criticality must be critical, normal, sheddable or batch (was 'urgent')")]
    [InlineData("X-Deadline-Ms", "soon", "X-Deadline-Ms must be a whole number of milliseconds from 1 to 86400000 (was 'soon')")]
    [InlineData("X-Deadline-Ms", "0", "X-Deadline-Ms must be a whole number of milliseconds")]
    public async Task AMalformedHeader_IsAnswered400NamingIt_AndTakesNoPermit(string header, string value, string reason)
    {
        (WebApplication app, ConcurrentQueue<string> entered, TaskCompletionSource release) = await StartAsync(_ => { });
        await using var _ = app;
        using var client = TestHosts.ClientOf(app);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/?name=bad");
        request.Headers.Add(header, value);

        using HttpResponseMessage response = await client.SendAsync(request);
        release.SetResult();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(entered);
        await app.StopAsync();
    }

    [Fact]
    public async Task Start_WithAnInvalidRoomOption_FailsNamingIt()
    {
        var builder = TestHosts.NewBuilder();
        builder.Services.AddBackpressure(bp => bp
            .AddPressureGauge("one", o => o.PermitLimit = 1)
            .AddWaitingRoom("room", "one", new ConfigurationBuilder().AddInMemoryCollection([KeyValuePair.Create("Room:MaxWait", (string?)"00:00:00")]).Build()));
        await using var app = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("Waiting room 'room': Room.MaxWait must be more than 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithARoomInFrontOfAnUnregisteredLimiter_FailsNamingIt()
    {
        var builder = TestHosts.NewBuilder();
        builder.Services.AddBackpressure(bp => bp.AddWaitingRoom("room", "missing", _ => { }));
        await using var app = builder.Build();
        app.MapGet("/", () => "ok").RequireBackpressure("room");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("The waiting room 'room' stands in front of the policy 'missing', which is not registered", e.Message, StringComparison.Ordinal);
    }

    private static int QueuedCount(WebApplication app) =>
        ((WaitingRoom<Microsoft.AspNetCore.Http.HttpContext>)app.Services.GetRequiredKeyedService<BackpressurePolicy>("room").Limiter).QueuedCount;

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "the condition did not hold within 30 s");
    }

    /// <summary>The <c>name</c> query value, bound from the request.</summary>
    private sealed record HttpRequestMessageName(string Value)
    {
        public static ValueTask<HttpRequestMessageName?> BindAsync(Microsoft.AspNetCore.Http.HttpContext context) =>
            ValueTask.FromResult<HttpRequestMessageName?>(new(context.Request.Query["name"].ToString()));
    }
}
