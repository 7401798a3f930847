using Grpc.Core;

namespace Mesh.Client.Routing.Internal;

/// <summary>
/// What routing, hashing and fault injection read from a request, so that HttpClient requests and gRPC
/// calls (before they become HTTP requests) are matched by the same code. Implemented by structs, so
/// generic callers pay no interface dispatch or boxing.
/// </summary>
internal interface IRequestView
{
    /// <summary>
    /// Gets a header as matching sees it: several values joined by <c>,</c>; binary (<c>-bin</c>) headers
    /// are never seen (gRFC A28).
    /// </summary>
    bool TryGetHeader(string name, out string value);

    /// <summary>Gets the first value of a query parameter, decoded; gRPC calls have none.</summary>
    bool TryGetQueryParameter(string name, out string value);
}

/// <summary>An HttpClient request (or a gRPC call once it is an HTTP request).</summary>
internal readonly struct HttpRequestView(HttpRequestMessage request) : IRequestView
{
    public bool TryGetHeader(string name, out string value) => RequestHeaders.TryGetValue(request, name, out value);

    public bool TryGetQueryParameter(string name, out string value) =>
        QueryString.TryGetFirst(request.RequestUri is { IsAbsoluteUri: true } uri ? uri.Query : string.Empty, name, out value);
}

/// <summary>A gRPC call before it is sent: its metadata. Its content type is <c>application/grpc</c>, as on the wire.</summary>
internal readonly struct GrpcRequestView(Metadata? metadata) : IRequestView
{
    public bool TryGetHeader(string name, out string value)
    {
        value = string.Empty;
        if (name.EndsWith("-bin", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (string.Equals(name, "content-type", StringComparison.OrdinalIgnoreCase))
        {
            value = "application/grpc";
            return true;
        }

        if (metadata is null)
        {
            return false;
        }

        string? single = null;
        List<string>? several = null;
        // By index: enumerating Metadata boxes its enumerator.
        for (var i = 0; i < metadata.Count; i++)
        {
            var entry = metadata[i];
            if (!entry.IsBinary && string.Equals(entry.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                if (single is null)
                {
                    single = entry.Value;
                }
                else
                {
                    (several ??= [single]).Add(entry.Value);
                }
            }
        }

        if (single is null)
        {
            return false;
        }

        value = several is null ? single : string.Join(',', several);
        return true;
    }

    public bool TryGetQueryParameter(string name, out string value)
    {
        value = string.Empty;
        return false;
    }
}

/// <summary>Reads query strings without building a collection.</summary>
internal static class QueryString
{
    public static bool TryGetFirst(string query, string name, out string value)
    {
        var span = query.AsSpan();
        if (span.StartsWith("?"))
        {
            span = span[1..];
        }

        while (!span.IsEmpty)
        {
            var amp = span.IndexOf('&');
            var pair = amp < 0 ? span : span[..amp];
            span = amp < 0 ? [] : span[(amp + 1)..];
            var eq = pair.IndexOf('=');
            var key = eq < 0 ? pair : pair[..eq];
            if (Decode(key) == name)
            {
                value = eq < 0 ? string.Empty : Decode(pair[(eq + 1)..]);
                return true;
            }
        }

        value = string.Empty;
        return false;
    }

    private static string Decode(ReadOnlySpan<char> text) => Uri.UnescapeDataString(text.ToString().Replace('+', ' '));
}
