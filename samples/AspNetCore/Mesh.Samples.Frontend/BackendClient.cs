namespace Mesh.Samples.Frontend;

/// <summary>A typed client of the backend. Its <see cref="HttpClient"/> comes from IHttpClientFactory, so the mesh handles its requests.</summary>
/// <param name="http">The client, with its base address set to the backend's name.</param>
public sealed class BackendClient(HttpClient http)
{
    /// <summary>The backend's address as the code writes it (a mesh service name, not an endpoint).</summary>
    public string Address => http.BaseAddress?.ToString() ?? "";

    /// <summary>Calls <c>GET /api/items</c> on whichever backend instance the mesh picks.</summary>
    /// <param name="canary">The caller's <c>x-canary</c> header, passed on when present (routes may match it).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The instance's answer.</returns>
    public async Task<BackendItems> GetItemsAsync(string? canary, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/items");
        if (canary is not null)
        {
            request.Headers.Add("x-canary", canary);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<BackendItems>(cancellationToken)
            ?? throw new InvalidOperationException($"{Address}api/items answered null.");
    }
}

/// <summary>What the backend's <c>GET /api/items</c> returns.</summary>
/// <param name="Instance">The instance that answered.</param>
/// <param name="Version">Its version.</param>
/// <param name="Items">The items.</param>
public sealed record BackendItems(string Instance, string Version, IReadOnlyList<string> Items);
