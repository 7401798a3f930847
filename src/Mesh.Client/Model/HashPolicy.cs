namespace Mesh.Client.Model;

/// <summary>Where a request hash comes from.</summary>
internal enum HashPolicyKind
{
    /// <summary>The value of a request header.</summary>
    Header,

    /// <summary>The identity of the calling client (one HttpClient handler or one gRPC channel).</summary>
    ChannelId,

    /// <summary>HttpClient: the value of a cookie of the request.</summary>
    Cookie,
}

/// <summary>One way to compute the request hash that <c>ring_hash</c> and <c>maglev</c> pick by.</summary>
/// <param name="Kind">The hash source.</param>
/// <param name="Name">The header name for <see cref="HashPolicyKind.Header"/>, the cookie name for <see cref="HashPolicyKind.Cookie"/>.</param>
/// <param name="Terminal">When this policy yields a hash, stop evaluating the policies after it.</param>
internal sealed record HashPolicy(HashPolicyKind Kind, string Name = "", bool Terminal = false);
