using System.Globalization;
using Backpressure.Admission;
using Microsoft.AspNetCore.Http;

namespace Backpressure.AspNetCore.Admission;

/// <summary>
/// How an HTTP request becomes an <see cref="AdmissionRequest"/> under a waiting-room policy's options, and which
/// requests are malformed for it (a criticality or deadline header it cannot read).
/// </summary>
internal sealed class HttpAdmission(WaitingRoomPolicyOptions options)
{
    private const long MostDeadlineMilliseconds = 86_400_000;


    public AdmissionRequest Describe(HttpContext context)
    {
        Criticality criticality = context.GetEndpoint()?.Metadata.GetMetadata<CriticalityMetadata>()?.Criticality ?? options.DefaultCriticality;
        if (options.CriticalityHeader is { } name && AdmissionNames.ParseCriticality(context.Request.Headers[name].ToString()) is { } claimed)
        {
            criticality = claimed;
        }

        TimeSpan? deadline = options.DeadlineHeader is { } deadlineHeader && ParseDeadline(context.Request.Headers[deadlineHeader].ToString()) is { } ms
            ? TimeSpan.FromMilliseconds(ms)
            : null;
        return new AdmissionRequest(new AdmissionPriority(criticality, CohortOf(context)), deadline);
    }

    /// <summary>
    /// The cohort of the trusted cohort header's value, else of the client's address (an IPv6 client by its /64, as
    /// <see cref="RequestPartitioner.RemoteAddress"/> counts it): hashed where it lies, with nothing allocated per request.
    /// </summary>
    private int CohortOf(HttpContext context)
    {
        if (options.CohortHeader is { } header && context.Request.Headers[header].ToString() is { Length: > 0 } key)
        {
            return AdmissionPriority.CohortOf(key);
        }

        Span<byte> address = stackalloc byte[16];
        if (context.Connection.RemoteIpAddress is not { } remote || !remote.TryWriteBytes(address, out int length))
        {
            return 0;
        }

        int significant = length == 16 && !remote.IsIPv4MappedToIPv6 ? 8 : length;
        Span<char> chars = stackalloc char[16];
        for (int i = 0; i < significant; i++)
        {
            chars[i] = (char)address[i];
        }

        return AdmissionPriority.CohortOf(chars[..significant]);
    }

    /// <summary>Why the request cannot be admitted as sent (answered 400), or null.</summary>
    public string? Malformed(HttpContext context)
    {
        if (options.CriticalityHeader is { } name && context.Request.Headers[name].ToString() is { Length: > 0 } value && AdmissionNames.ParseCriticality(value) is null)
        {
            return $"{name} must be critical, normal, sheddable or batch (was '{Truncate(value)}')";
        }

        if (options.DeadlineHeader is { } deadline && context.Request.Headers[deadline].ToString() is { Length: > 0 } ms && ParseDeadline(ms) is null)
        {
            return $"{deadline} must be a whole number of milliseconds from 1 to {MostDeadlineMilliseconds} (was '{Truncate(ms)}')";
        }

        return null;
    }

    private static long? ParseDeadline(string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long ms) && ms is >= 1 and <= MostDeadlineMilliseconds ? ms : null;

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
