using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;
using MeshRetryPolicy = Mesh.Client.Model.RetryPolicy;
using XdsRetryPolicy = Envoy.Config.Route.V3.RetryPolicy;

namespace Mesh.Client.Xds.Internal;

// Retry policies (gRFC A44) and fault-filter overrides in typed_per_filter_config (gRFC A39, A33).
internal static partial class XdsRouteDecoder
{
    /// <summary>
    /// A retry policy (gRFC A44 for gRPC calls, Envoy's RetryPolicy for HttpClient requests). Validation follows
    /// both gRPC references: <c>num_retries</c> must be above 0, and a <c>retry_back_off</c> needs a
    /// <c>base_interval</c> above 0 and a <c>max_interval</c> (when set) above 0 and not below it.
    /// </summary>
    /// <returns>The policy; <see langword="null"/> when none of its conditions is one the client retries on (as gRPC drops a policy without codes), or after recording errors.</returns>
    private static MeshRetryPolicy? DecodeRetryPolicy(XdsRetryPolicy policy, string path, List<string> errors)
    {
        var errorCount = errors.Count;
        var retryOn = RetryOn.None;

        // Envoy trims the entries; gRPC ignores the conditions it does not implement, and so do we.
        foreach (var condition in policy.RetryOn.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (RetryOnNames.TryGet(condition, StringComparison.Ordinal, out var flag))
            {
                retryOn |= flag;
            }
        }

        var numRetries = policy.NumRetries ?? 1;
        if (numRetries == 0)
        {
            // Both gRPC references reject 0 (gRPC's maxAttempts = num_retries + 1 must be at least 2).
            AddError(errors, Field(path, "num_retries"), "must be greater than 0");
        }

        var baseInterval = DefaultRetryBaseInterval;
        TimeSpan? maxInterval = null;
        if (policy.RetryBackOff is { } backOff)
        {
            var backOffPath = Field(path, "retry_back_off");
            var basePath = Field(backOffPath, "base_interval");
            if (backOff.BaseInterval is not { } baseConfig)
            {
                AddError(errors, basePath, "field not present");
            }
            else if (ParseDuration(baseConfig, basePath, errors) is { } parsedBase)
            {
                if (parsedBase <= TimeSpan.Zero)
                {
                    AddError(errors, basePath, "must be greater than 0");
                }

                baseInterval = parsedBase;
            }

            if (backOff.MaxInterval is { } maxConfig)
            {
                var maxPath = Field(backOffPath, "max_interval");
                if (ParseDuration(maxConfig, maxPath, errors) is { } parsedMax)
                {
                    if (parsedMax <= TimeSpan.Zero)
                    {
                        AddError(errors, maxPath, "must be greater than 0");
                    }
                    else if (parsedMax < baseInterval)
                    {
                        AddError(errors, maxPath, FormattableString.Invariant($"must not be less than base_interval ({parsedMax.TotalMilliseconds} ms < {baseInterval.TotalMilliseconds} ms)"));
                    }

                    maxInterval = parsedMax;
                }
            }
        }

        TimeSpan? perTryTimeout = null;
        if (policy.PerTryTimeout is { } perTryConfig)
        {
            // HttpClient only (gRFC A44 defers it for gRPC); 0 means none, as for the route timeout.
            perTryTimeout = NonZero(ParseDuration(perTryConfig, Field(path, "per_try_timeout"), errors));
        }

        if (errors.Count > errorCount || retryOn == RetryOn.None)
        {
            return null;
        }

        return new MeshRetryPolicy
        {
            RetryOn = retryOn,
            NumRetries = (int)Math.Min(numRetries, int.MaxValue),
            BaseInterval = baseInterval,
            MaxInterval = maxInterval,
            PerTryTimeout = perTryTimeout,

            // A code that is no HTTP status can never match a response; it is dropped rather than rejected (Envoy takes any number).
            RetriableStatusCodes = [.. policy.RetriableStatusCodes.Where(c => ModelRules.IsHttpStatus(c)).Select(c => (int)c)],
        };
    }

    /// <summary>
    /// The fault-filter entries of a <c>typed_per_filter_config</c> map (gRFC A39), by filter instance name. Every
    /// entry is validated: an unknown filter type is an error unless wrapped in a FilterConfig with
    /// <c>is_optional</c>; the router takes no override. Whether a name is a fault filter of the connection
    /// manager is only known once the Listener is (gRFC A39 does not check it here).
    /// </summary>
    private static IReadOnlyDictionary<string, FaultPolicy> DecodeFilterOverrides(MapField<string, Any> map, string path, List<string> errors)
    {
        if (map.Count == 0)
        {
            return XdsFaultOverrides.Empty;
        }

        var overrides = new Dictionary<string, FaultPolicy>(StringComparer.Ordinal);
        foreach (var (name, value) in map.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var entryPath = Field(path, $"typed_per_filter_config[\"{name}\"]");
            if (name.Length == 0)
            {
                AddError(errors, entryPath, "the filter instance name must be non-empty");
                continue;
            }

            if (ExtractExtension(value, entryPath, errors) is not { } extension)
            {
                continue;
            }

            var optional = false;
            if (extension.TypeName == FilterConfigTypeName)
            {
                if (Unpack(extension, FilterConfig.Parser, entryPath, errors) is not { } filterConfig)
                {
                    continue;
                }

                optional = filterConfig.IsOptional;
                if (filterConfig.Disabled)
                {
                    // Envoy: the filter does not run here and the config is ignored. For a fault filter that is "no
                    // faults"; an entry naming another filter is never looked up.
                    overrides[name] = XdsFaultOverrides.None;
                    continue;
                }

                entryPath = Field(entryPath, "config");
                if (filterConfig.Config is null)
                {
                    if (!optional)
                    {
                        AddError(errors, entryPath, "field not present");
                    }

                    continue;
                }

                if (ExtractExtension(filterConfig.Config, entryPath, errors) is not { } inner)
                {
                    continue;
                }

                extension = inner;
            }

            switch (extension.TypeName)
            {
                case XdsListenerDecoder.FaultTypeName:
                    if (Unpack(extension, HTTPFault.Parser, entryPath, errors) is { } fault &&
                        XdsListenerDecoder.DecodeFault(fault, entryPath, errors) is { } policy)
                    {
                        overrides[name] = policy;
                    }

                    break;
                case XdsListenerDecoder.RouterTypeName:
                    AddError(errors, entryPath, $"the router filter takes no per-route configuration (filter \"{name}\")");
                    break;
                default:
                    if (!optional)
                    {
                        AddError(errors, entryPath, $"unsupported filter type {extension.TypeName} for filter \"{name}\" (wrap it in an {FilterConfigTypeName} with is_optional to let clients skip it)");
                    }

                    break;
            }
        }

        return overrides.Count == 0 ? XdsFaultOverrides.Empty : overrides;
    }
}
