using Envoy.Admin.V3;
using Envoy.Service.Discovery.V3;
using Envoy.Service.Status.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Xds.Internal;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// Builds the Client Status Discovery Service answer (gRFC A40) from what the xDS client holds: one
/// <c>ClientConfig</c> with the node and a <c>GenericXdsConfig</c> per subscribed resource. A NACKed
/// resource keeps its last accepted version and contents, and carries the rejection in
/// <c>error_state</c>. A process without an xDS client answers with no <c>ClientConfig</c>, as gRPC does.
/// </summary>
internal static class MeshStatusCsds
{
    public static ClientStatusResponse Build(XdsClientDump? xds, bool excludeResourceContents)
    {
        var response = new ClientStatusResponse();
        if (xds is null)
        {
            return response;
        }

        var config = new ClientConfig { Node = xds.Node };
        foreach (var resource in xds.Resources)
        {
            var entry = new ClientConfig.Types.GenericXdsConfig
            {
                TypeUrl = resource.TypeUrl,
                Name = resource.Name,
                VersionInfo = resource.Version ?? string.Empty,
                ClientStatus = ClientStatus(resource.Status),
            };

            if (!excludeResourceContents && resource.Raw is { } raw)
            {
                entry.XdsConfig = Unwrap(raw);
            }

            if (resource.UpdatedAt is { } updated)
            {
                entry.LastUpdated = Timestamp.FromDateTimeOffset(updated);
            }

            if (resource.Failure is { } failure)
            {
                entry.ErrorState = new UpdateFailureState
                {
                    Details = failure.Details,
                    VersionInfo = failure.RejectedVersion ?? string.Empty,
                    LastUpdateAttempt = failure.AttemptedAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
                };
            }

            config.GenericXdsConfigs.Add(entry);
        }

        response.Config.Add(config);
        return response;
    }

    internal static ClientResourceStatus ClientStatus(XdsResourceStatus status) => status switch
    {
        XdsResourceStatus.Acked => ClientResourceStatus.Acked,
        XdsResourceStatus.Nacked => ClientResourceStatus.Nacked,
        XdsResourceStatus.DoesNotExist => ClientResourceStatus.DoesNotExist,
        _ => ClientResourceStatus.Requested,
    };

    // A server may wrap a resource in envoy.service.discovery.v3.Resource; CSDS reports the resource itself.
    private static Any Unwrap(Any raw) =>
        raw.TypeUrl == XdsTypeUrls.Resource && raw.TryUnpack<Resource>(out var wrapper) && wrapper.Resource_ is { } inner ? inner : raw;
}
