using System.Net.Http.Headers;

namespace Mesh.Client.Routing.Internal;

/// <summary>Reads request headers for matching and hashing without validating or re-parsing them.</summary>
internal static class RequestHeaders
{
    /// <summary>
    /// Gets the value of a header as matching sees it: several values joined by <c>,</c>. Binary gRPC
    /// metadata (<c>-bin</c> suffix) is never matched on (gRFC A28). Content headers count too, so that
    /// <c>content-type</c> can be matched.
    /// </summary>
    public static bool TryGetValue(HttpRequestMessage request, string name, out string value)
    {
        if (name.EndsWith("-bin", StringComparison.OrdinalIgnoreCase))
        {
            value = string.Empty;
            return false;
        }

        if (request.Headers.NonValidated.TryGetValues(name, out var values) ||
            (request.Content is { } content && content.Headers.NonValidated.TryGetValues(name, out values)))
        {
            value = Join(values);
            return true;
        }

        value = string.Empty;
        return false;
    }

    private static string Join(HeaderStringValues values)
    {
        if (values.Count == 1)
        {
            // HeaderStringValues holds a single value as the string itself.
            return values.ToString();
        }

        return string.Join(',', values);
    }
}
