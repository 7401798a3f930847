using System.Globalization;
using System.Text;
using System.Text.Json;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Xds.Internal;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// Writes the config dump: the mesh in force (services, routes, clusters, endpoints with their runtime
/// state) and what the xDS client holds. Field names are snake_case, as Envoy's admin output, and are a
/// contract: docs/telemetry.md documents them and the dashboard reads them. Times are UTC ISO 8601, durations
/// seconds. No key material is written: TLS is summarised by provider names and SAN matchers.
/// </summary>
internal static class MeshStatusJsonWriter
{
    public static void Write(Utf8JsonWriter w, MeshTable table, MeshStatusSources.Resolver sources, XdsClientDump? xds, DateTimeOffset now)
    {
        w.WriteStartObject();
        WriteTime(w, "generated_at", now);

        w.WriteStartObject("mesh");
        w.WriteString("version", table.Snapshot.Version);
        w.WriteString("source", table.Snapshot.Source);
        w.WriteNumber("generation", table.Generation);
        w.WriteEndObject();

        WriteControlPlane(w, xds);
        WriteResources(w, xds);
        WriteServices(w, table, sources);
        WriteClusters(w, table, sources);
        w.WriteEndObject();
    }

    private static void WriteControlPlane(Utf8JsonWriter w, XdsClientDump? xds)
    {
        if (xds is null)
        {
            w.WriteNull("control_plane");
            return;
        }

        w.WriteStartObject("control_plane");
        w.WriteString("server", xds.Server.ServerUri);
        w.WriteString("bootstrap", xds.BootstrapOrigin);
        w.WriteBoolean("connected", xds.Connected);
        WriteOptional(w, "last_error", xds.LastError);
        w.WriteStartObject("node");
        w.WriteString("id", xds.Node.Id);
        w.WriteString("cluster", xds.Node.Cluster);
        w.WriteString("user_agent", $"{xds.Node.UserAgentName} {xds.Node.UserAgentVersion}".Trim());
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteResources(Utf8JsonWriter w, XdsClientDump? xds)
    {
        w.WriteStartArray("xds_resources");
        foreach (var resource in xds?.Resources ?? [])
        {
            w.WriteStartObject();
            w.WriteString("type", XdsTypeUrls.ShortName(resource.TypeUrl));
            w.WriteString("type_url", resource.TypeUrl);
            w.WriteString("name", resource.Name);
            WriteOptional(w, "version", resource.Version);
            w.WriteString("status", StatusName(resource.Status));
            WriteTime(w, "last_updated", resource.UpdatedAt);
            if (resource.Failure is { } failure)
            {
                w.WriteStartObject("error");
                w.WriteString("details", failure.Details);
                WriteOptional(w, "rejected_version", failure.RejectedVersion);
                WriteTime(w, "last_update_attempt", failure.AttemptedAt);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("error");
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteServices(Utf8JsonWriter w, MeshTable table, MeshStatusSources.Resolver sources)
    {
        w.WriteStartArray("services");
        foreach (var (name, service) in table.Services.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase))
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteString("source", sources.OfService(name));
            w.WriteStartArray("routes");
            foreach (var route in service.Routes)
            {
                WriteRoute(w, route);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WriteStartArray("failed_services");
        foreach (var (name, failure) in table.Snapshot.FailedServices.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase))
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteBoolean("does_not_exist", failure.DoesNotExist);
            w.WriteString("message", failure.Message);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteRoute(Utf8JsonWriter w, CompiledRoute compiled)
    {
        var route = compiled.Config;
        w.WriteStartObject();
        WriteOptional(w, "name", route.Name);
        w.WriteString("match", DescribeMatch(route.Match));
        w.WriteStartArray("clusters");
        foreach (var cluster in route.Clusters)
        {
            w.WriteStartObject();
            w.WriteString("name", cluster.Cluster);
            w.WriteNumber("weight", cluster.Weight);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteOptional(w, "cluster_header", route.ClusterHeader);
        WriteSeconds(w, "timeout_seconds", route.Timeout);
        if (route.Retry is { } retry)
        {
            w.WriteStartObject("retry");
            w.WriteString("retry_on", retry.RetryOn.ToString());
            w.WriteNumber("num_retries", retry.NumRetries);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("retry");
        }

        WriteOptional(w, "error", route.ErrorMessage);
        w.WriteEndObject();
    }

    private static void WriteClusters(Utf8JsonWriter w, MeshTable table, MeshStatusSources.Resolver sources)
    {
        w.WriteStartArray("clusters");
        foreach (var (name, cluster) in table.Clusters.OrderBy(c => c.Key, StringComparer.OrdinalIgnoreCase))
        {
            var config = cluster.Config;
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteString("source", sources.OfCluster(name));
            w.WriteString("lb_policy", config.LoadBalancing.Name);
            w.WriteString("protocol", config.Protocol.ToString().ToLowerInvariant());
            WriteOptional(w, "error", config.ErrorMessage);
            w.WriteNumber("active_priority", cluster.ActivePriority);

            w.WriteStartObject("circuit_breaker");
            w.WriteNumber("in_flight", cluster.State.Active);
            w.WriteNumber("max_requests", config.MaxRequests);
            w.WriteNumber("overflows", cluster.State.Overflows);
            w.WriteEndObject();

            WriteTls(w, config.Tls);

            var outlier = cluster.State.OutlierDetector?.Policy ?? config.OutlierDetection;
            if (outlier is not null)
            {
                w.WriteStartObject("outlier_detection");
                w.WriteNumber("interval_seconds", outlier.Interval.TotalSeconds);
                w.WriteNumber("base_ejection_time_seconds", outlier.BaseEjectionTime.TotalSeconds);
                w.WriteNumber("max_ejection_time_seconds", outlier.MaxEjectionTime.TotalSeconds);
                w.WriteNumber("max_ejection_percent", outlier.MaxEjectionPercent);
                w.WriteBoolean("success_rate", outlier.SuccessRate is not null);
                w.WriteBoolean("failure_percentage", outlier.FailurePercentage is not null);
                w.WriteNumber("ejected_endpoints", cluster.AllEndpoints.Count(e => e.IsEjected));
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("outlier_detection");
            }

            w.WriteStartArray("endpoints");
            foreach (var priority in cluster.Priorities)
            {
                foreach (var locality in priority)
                {
                    foreach (var endpoint in locality.Endpoints)
                    {
                        WriteEndpoint(w, endpoint, locality, outlier);
                    }
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteTls(Utf8JsonWriter w, MeshClusterTls? tls)
    {
        if (tls is null)
        {
            w.WriteNull("tls");
            return;
        }

        w.WriteStartObject("tls");
        w.WriteString("mode", tls.Identity is null ? "tls" : "mtls");
        WriteOptional(w, "identity_provider", tls.Identity?.InstanceName);
        WriteOptional(w, "roots_provider", tls.Roots?.InstanceName);
        w.WriteBoolean("system_roots", tls.UseSystemRoots);
        WriteOptional(w, "sni", tls.Sni);
        w.WriteStartArray("subject_alt_names");
        foreach (var san in tls.SubjectAltNames)
        {
            w.WriteStringValue(san.ToString());
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteEndpoint(Utf8JsonWriter w, EndpointState state, LocalityRuntime locality, OutlierDetectionPolicy? outlier)
    {
        var endpoint = state.Endpoint;
        w.WriteStartObject();
        w.WriteString("address", state.Address);
        w.WriteStartObject("locality");
        w.WriteString("region", locality.Name.Region);
        w.WriteString("zone", locality.Name.Zone);
        w.WriteString("sub_zone", locality.Name.SubZone);
        w.WriteEndObject();
        w.WriteNumber("locality_weight", locality.Weight);
        w.WriteNumber("priority", state.Priority);
        w.WriteNumber("weight", endpoint.Weight);
        w.WriteString("health", endpoint.Health.ToString().ToUpperInvariant());
        w.WriteBoolean("usable", state.IsUsable);

        var ejected = state.IsEjected;
        w.WriteBoolean("ejected", ejected);
        if (ejected)
        {
            WriteTime(w, "ejected_at", state.EjectedAt);
            WriteTime(w, "ejected_until", outlier is null ? null : state.EjectedAt + EjectionTime(outlier, state.EjectionMultiplier));
        }
        else
        {
            w.WriteNull("ejected_at");
            w.WriteNull("ejected_until");
        }

        w.WriteNumber("ejection_multiplier", state.EjectionMultiplier);
        w.WriteNumber("in_flight", state.InFlight);
        w.WriteNumber("requests_started", state.Started);
        w.WriteNumber("interval_successes", state.IntervalSuccesses);
        w.WriteNumber("interval_failures", state.IntervalFailures);
        w.WriteEndObject();
    }

    /// <summary>How long an ejection lasts, as the outlier detector computes it (gRFC A50).</summary>
    private static TimeSpan EjectionTime(OutlierDetectionPolicy policy, int multiplier)
    {
        var cap = policy.MaxEjectionTime > policy.BaseEjectionTime ? policy.MaxEjectionTime : policy.BaseEjectionTime;
        var duration = policy.BaseEjectionTime * Math.Max(1, multiplier);
        return duration > cap ? cap : duration;
    }

    /// <summary>The route's conditions in one line, for people: <c>prefix /api, header x-canary exact "1"</c>.</summary>
    internal static string DescribeMatch(RouteMatch match)
    {
        var text = new StringBuilder();
        var path = match.Path;
        if (path.Kind == PathMatchKind.Prefix && path.Value.Length == 0)
        {
            text.Append("any path");
        }
        else
        {
            text.Append(path.Kind.ToString().ToLowerInvariant()).Append(' ').Append(path.Value);
        }

        if (!path.CaseSensitive)
        {
            text.Append(" (ignore case)");
        }

        foreach (var header in match.Headers)
        {
            text.Append(", header ").Append(header.Invert ? "not " : string.Empty).Append(header.Name).Append(' ');
            AppendCondition(text, header.Kind, header.Value, header.IgnoreCase, header.PresentMatch, header.RangeStart, header.RangeEnd);
        }

        foreach (var parameter in match.QueryParameters)
        {
            text.Append(", query ").Append(parameter.Name).Append(' ');
            AppendCondition(text, parameter.Kind, parameter.Value, parameter.IgnoreCase, present: true, 0, 0);
        }

        if (match.FractionPerMillion is { } fraction)
        {
            text.Append(CultureInfo.InvariantCulture, $", {fraction / 10_000.0:0.####}% of requests");
        }

        return text.ToString();
    }

    private static void AppendCondition(StringBuilder text, HeaderMatchKind kind, string value, bool ignoreCase, bool present, long rangeStart, long rangeEnd)
    {
        switch (kind)
        {
            case HeaderMatchKind.Present:
                text.Append(present ? "present" : "absent");
                break;
            case HeaderMatchKind.Range:
                text.Append(CultureInfo.InvariantCulture, $"in [{rangeStart}, {rangeEnd})");
                break;
            default:
                text.Append(kind.ToString().ToLowerInvariant()).Append(" \"").Append(value).Append('"');
                if (ignoreCase)
                {
                    text.Append(" (ignore case)");
                }

                break;
        }
    }

    internal static string StatusName(XdsResourceStatus status) => status switch
    {
        XdsResourceStatus.Acked => "ACKED",
        XdsResourceStatus.Nacked => "NACKED",
        XdsResourceStatus.DoesNotExist => "DOES_NOT_EXIST",
        _ => "REQUESTED",
    };

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteSeconds(Utf8JsonWriter w, string name, TimeSpan? value)
    {
        if (value is { } duration)
        {
            w.WriteNumber(name, duration.TotalSeconds);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? value)
    {
        if (value is { } time)
        {
            w.WriteString(name, time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
