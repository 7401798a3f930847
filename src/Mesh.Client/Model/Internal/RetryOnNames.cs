namespace Mesh.Client.Model.Internal;

/// <summary>
/// The retry conditions by the names Envoy's <c>retry_on</c> and gRPC (gRFC A44) give them; the one table both
/// sources read. appsettings matches a name ignoring case and rejects an unknown one; xDS matches it as Envoy
/// does, case and all, and ignores a condition the client does not implement, as gRPC does.
/// </summary>
internal static class RetryOnNames
{
    private static readonly (string Name, RetryOn Flag)[] Table =
    [
        ("5xx", RetryOn.Http5xx),
        ("gateway-error", RetryOn.GatewayError),
        ("reset", RetryOn.Reset),
        ("connect-failure", RetryOn.ConnectFailure),
        ("retriable-status-codes", RetryOn.RetriableStatusCodes),
        ("cancelled", RetryOn.Cancelled),
        ("deadline-exceeded", RetryOn.DeadlineExceeded),
        ("internal", RetryOn.Internal),
        ("resource-exhausted", RetryOn.ResourceExhausted),
        ("unavailable", RetryOn.Unavailable),
    ];

    /// <summary>Every condition name, in the order messages list them.</summary>
    public static IReadOnlyList<string> All { get; } = [.. Table.Select(e => e.Name)];

    /// <summary>The condition <paramref name="name"/> stands for, compared as <paramref name="comparison"/> says.</summary>
    public static bool TryGet(string name, StringComparison comparison, out RetryOn flag)
    {
        foreach (var (known, value) in Table)
        {
            if (string.Equals(known, name, comparison))
            {
                flag = value;
                return true;
            }
        }

        flag = RetryOn.None;
        return false;
    }
}
