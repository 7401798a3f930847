using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>Builds picker inputs for balancer unit tests.</summary>
public static class Candidates
{
    internal static PickCandidate[] Make(int count, Func<int, uint>? weight = null, Func<int, int>? locality = null, Func<int, uint>? localityWeight = null, int firstPort = 10000)
    {
        var result = new PickCandidate[count];
        for (var i = 0; i < count; i++)
        {
            var endpoint = new MeshEndpoint { Host = "10.0.0." + (i % 250), Port = firstPort + i, Weight = weight?.Invoke(i) ?? 1 };
            var state = new EndpointState("test", endpoint);
            var loc = locality?.Invoke(i) ?? 0;
            result[i] = new PickCandidate(state, endpoint.Weight, loc, localityWeight?.Invoke(loc) ?? 1);
        }

        return result;
    }

    /// <summary>Counts picks per candidate index.</summary>
    internal static int[] Histogram(EndpointPicker picker, int picks, Func<int, PickRequest>? request = null)
    {
        var counts = new int[picker.Count];
        for (var i = 0; i < picks; i++)
        {
            var index = picker.Pick(request?.Invoke(i) ?? PickRequest.None);
            counts[index]++;
        }

        return counts;
    }
}
