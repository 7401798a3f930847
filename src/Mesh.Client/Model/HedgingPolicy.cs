namespace Mesh.Client.Model;

/// <summary>HttpClient hedging: after <see cref="Delay"/> without a response, send a copy to another endpoint; the first response wins.</summary>
internal sealed record HedgingPolicy
{
    /// <summary>Copies besides the first request (default 1).</summary>
    public int MaxHedgedAttempts { get; init; } = 1;

    /// <summary>How long to wait for a response before the next copy (default 2 s).</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(2);
}
