using System.Net;
using Backpressure.Http;
using BenchmarkDotNet.Attributes;

namespace Backpressure.Benchmarks;

/// <summary>
/// What <see cref="ClientBackpressureHandler"/> adds to a call that nothing refuses (issue 18's target: at most 1 µs),
/// side by side with the same in-memory answer without it, and a call it refuses locally (while a Retry-After lasts):
/// with a new 429 per call, and with <see cref="HttpClientBackpressureOptions.ShareLocalRefusals"/> (target: 0 B). The
/// refusals reuse one request (an <see cref="HttpMessageInvoker"/> does not mark it sent) and complete synchronously, so
/// what they allocate is the handler's alone.
/// </summary>
[MemoryDiagnoser]
public class ClientHandlerBenchmarks
{
    private static readonly Uri Destination = new("http://orders.internal/orders/1");
    private HttpMessageInvoker _bare = null!;
    private HttpMessageInvoker _handled = null!;
    private HttpMessageInvoker _held = null!;
    private HttpMessageInvoker _heldShared = null!;
    private HttpRequestMessage _refusedRequest = null!;

    [GlobalSetup]
    public async Task Start()
    {
        _bare = new HttpMessageInvoker(new Answer(HttpStatusCode.OK));
        _handled = new HttpMessageInvoker(new ClientBackpressureHandler { InnerHandler = new Answer(HttpStatusCode.OK) });
        _held = await HeldAsync(share: false);
        _heldShared = await HeldAsync(share: true);
        _refusedRequest = new HttpRequestMessage(HttpMethod.Get, Destination);
    }

    // A handler whose destination has told it Retry-After: 1 hour, so that it fails every call fast, before sending.
    private static async Task<HttpMessageInvoker> HeldAsync(bool share)
    {
        var held = new HttpMessageInvoker(new ClientBackpressureHandler(new HttpClientBackpressureOptions
        {
            RetryAfter = RetryAfterHandling.FailFast,
            MaxRetries = 0,
            MaxHold = TimeSpan.FromHours(1),
            ShareLocalRefusals = share,
        })
        {
            InnerHandler = new Answer(HttpStatusCode.TooManyRequests, TimeSpan.FromHours(1)),
        });
        using HttpResponseMessage told = await held.SendAsync(new HttpRequestMessage(HttpMethod.Get, Destination), CancellationToken.None);
        return held;
    }

    [Benchmark(Baseline = true)]
    public async Task<HttpStatusCode> Bare()
    {
        using HttpResponseMessage response = await _bare.SendAsync(new HttpRequestMessage(HttpMethod.Get, Destination), CancellationToken.None);
        return response.StatusCode;
    }

    [Benchmark]
    public async Task<HttpStatusCode> ThroughTheHandler()
    {
        using HttpResponseMessage response = await _handled.SendAsync(new HttpRequestMessage(HttpMethod.Get, Destination), CancellationToken.None);
        return response.StatusCode;
    }

    [Benchmark]
    public HttpStatusCode RefusedLocally() => Refused(_held);

    [Benchmark]
    public HttpStatusCode RefusedLocallyShared() => Refused(_heldShared);

    private HttpStatusCode Refused(HttpMessageInvoker invoker)
    {
        Task<HttpResponseMessage> refused = invoker.SendAsync(_refusedRequest, CancellationToken.None);
        using HttpResponseMessage response = refused.IsCompletedSuccessfully ? refused.Result : throw new InvalidOperationException("a local refusal did not complete at once");
        return response.StatusCode;
    }

    /// <summary>Answers every request at once from memory, as a server that is never slow would.</summary>
    private sealed class Answer(HttpStatusCode status, TimeSpan? retryAfter = null) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = new HttpResponseMessage(status) { RequestMessage = request };
            if (retryAfter is { } wait)
            {
                response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(wait);
            }

            return Task.FromResult(response);
        }
    }
}
