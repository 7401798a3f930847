using Mesh.Client.Model;

namespace Mesh.Client.Routing.Internal;

/// <summary>The compiled route table of one service; the first matching route wins.</summary>
internal sealed class ServiceRouteTable(MeshService config, CompiledRoute[] routes)
{
    public MeshService Config { get; } = config;

    public string Name => Config.Name;

    public CompiledRoute[] Routes { get; } = routes;

    public CompiledRoute? Match(ReadOnlySpan<char> path, HttpRequestMessage request)
    {
        var index = MatchIndex(path, new HttpRequestView(request));
        return index < 0 ? null : Routes[index];
    }

    public int MatchIndex(ReadOnlySpan<char> path, HttpRequestMessage request) => MatchIndex(path, new HttpRequestView(request));

    /// <summary>The index of the first route that matches, or -1.</summary>
    public int MatchIndex<TRequest>(ReadOnlySpan<char> path, in TRequest request)
        where TRequest : struct, IRequestView
    {
        var routes = Routes;
        for (var i = 0; i < routes.Length; i++)
        {
            if (routes[i].IsMatch(path, request))
            {
                return i;
            }
        }

        return -1;
    }
}
