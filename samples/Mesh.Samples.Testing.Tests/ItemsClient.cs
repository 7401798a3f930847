using System.Net.Http.Json;

namespace Mesh.Samples.Testing.Tests;

/// <summary>
/// The application's typed HttpClient for the backend, as the sample frontend has it. Nothing in it knows about
/// the mesh: <c>AddMesh()</c> routes whatever its <see cref="HttpClient"/> sends.
/// </summary>
/// <param name="http">The client from <c>IHttpClientFactory</c>, its base address set from <c>Backend:Address</c>.</param>
public sealed class ItemsClient(HttpClient http)
{
    /// <summary>The header the canary route matches.</summary>
    public const string CanaryHeader = "x-canary";

    /// <summary>Calls <c>GET /api/items</c>.</summary>
    /// <param name="canary">Send <c>x-canary: true</c>.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>Which instance and version answered.</returns>
    public async Task<BackendAnswer> GetItemsAsync(bool canary = false, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/items");
        if (canary)
        {
            request.Headers.Add(CanaryHeader, "true");
        }

        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<BackendAnswer>(cancellationToken)
            ?? throw new InvalidOperationException("The backend answered with an empty body.");
    }

    /// <summary>Sends <paramref name="count"/> requests one after another and counts the answers by version.</summary>
    /// <param name="count">How many requests.</param>
    /// <param name="canary">Send <c>x-canary: true</c>.</param>
    /// <returns>Answers per version, e.g. <c>{ v1: 903, v2: 97 }</c>.</returns>
    public async Task<IReadOnlyDictionary<string, int>> CountVersionsAsync(int count, bool canary = false)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var answer = await GetItemsAsync(canary);
            counts[answer.Version] = counts.GetValueOrDefault(answer.Version) + 1;
        }

        return counts;
    }
}
