using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;

namespace Backpressure.Http;

/// <summary>
/// The read-only 429s a <see cref="ClientBackpressureHandler"/> answers with when
/// <see cref="HttpClientBackpressureOptions.ShareLocalRefusals"/> is set: one per reason and wait (a held call's in whole
/// seconds, a throttled call's in whole milliseconds under a second), each made on first use and already wrapped in a
/// completed task, so refusing a call allocates nothing after that.
/// </summary>
/// <remarks>
/// A <see cref="DelegatingHandler"/> must answer every call with a response; a new one (with its headers, content and
/// task) is about 350 B. These are made once and never disposed: their <see cref="HttpResponseMessage.Dispose()"/> and
/// their content's do nothing, and their content is buffered up front, so <see cref="HttpClient"/>'s own buffering of it
/// is a no-op too.
/// </remarks>
internal static class SharedRefusal
{
    // Retry-After is whole seconds; a hold longer than an hour (MaxHold's ceiling) is answered with a new response.
    private const int MostSeconds = 3600;

    // The longest a throttled call is told to wait (Pushback.ThrottledWait): a second.
    private const int ThrottledWaitMilliseconds = 1000;

    private static readonly Task<HttpResponseMessage> s_throttled = Create(1, TimeSpan.FromMilliseconds(ThrottledWaitMilliseconds), "throttled");
    private static readonly Task<HttpResponseMessage>?[] s_throttledFor = new Task<HttpResponseMessage>?[ThrottledWaitMilliseconds];
    private static readonly Task<HttpResponseMessage>?[] s_held = new Task<HttpResponseMessage>?[MostSeconds + 1];

    /// <summary>The shared answer to a call refused by the throttle and told to come back after <paramref name="wait"/> (at most a second).</summary>
    public static Task<HttpResponseMessage> Throttled(TimeSpan wait)
    {
        long milliseconds = (long)Math.Ceiling(wait.TotalMilliseconds);
        if (milliseconds is < 1 || milliseconds >= s_throttledFor.Length)
        {
            return s_throttled;
        }

        return Cached(ref s_throttledFor[milliseconds], 1, TimeSpan.FromMilliseconds(milliseconds), "throttled");
    }

    /// <summary>The shared answer to a call held back by a Retry-After of <paramref name="seconds"/>, or null beyond an hour.</summary>
    public static Task<HttpResponseMessage>? Held(long seconds)
    {
        if (seconds is < 1 or > MostSeconds)
        {
            return null;
        }

        return Cached(ref s_held[seconds], seconds, TimeSpan.FromSeconds(seconds), "held");
    }

    // The answer kept in slot, made on first use. Two threads may both make one the first time; either is as good, and one
    // is kept. LazyInitializer.EnsureInitialized would do the same, but its factory, capturing the wait, would allocate a
    // closure on every call.
    private static Task<HttpResponseMessage> Cached(ref Task<HttpResponseMessage>? slot, long seconds, TimeSpan wait, string why) =>
        Volatile.Read(ref slot) ?? Interlocked.CompareExchange(ref slot, Create(seconds, wait, why), null) ?? slot!;

    private static Task<HttpResponseMessage> Create(long seconds, TimeSpan wait, string why)
    {
        var response = new ReadOnlyResponse();
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds));
        response.Headers.TryAddWithoutValidation(RetryAfterMilliseconds.Header, RetryAfterMilliseconds.Format(wait));
        response.Headers.TryAddWithoutValidation(ClientBackpressureHandler.LocalRefusalHeader, why);
        return Task.FromResult<HttpResponseMessage>(response);
    }

    private sealed class ReadOnlyResponse : HttpResponseMessage
    {
        public ReadOnlyResponse()
            : base(HttpStatusCode.TooManyRequests)
        {
            ReasonPhrase = ClientBackpressureHandler.LocalRefusalReason;
            Content = new EmptyContent();
        }

        // Shared by every call refused for the same reason and wait: disposing it would break the next caller's.
        [SuppressMessage("Usage", "CA2215:Dispose methods should call base class dispose", Justification = "Shared for the process's lifetime: a caller's dispose must not end it for the others.")]
        protected override void Dispose(bool disposing)
        {
        }
    }

    private sealed class EmptyContent : ByteArrayContent
    {
        public EmptyContent()
            : base([])
        {
            // Buffered now, so that HttpClient's LoadIntoBufferAsync finds it buffered and allocates nothing.
            LoadIntoBufferAsync().GetAwaiter().GetResult();
        }

        [SuppressMessage("Usage", "CA2215:Dispose methods should call base class dispose", Justification = "Shared with the response for the process's lifetime.")]
        protected override void Dispose(bool disposing)
        {
        }
    }
}
