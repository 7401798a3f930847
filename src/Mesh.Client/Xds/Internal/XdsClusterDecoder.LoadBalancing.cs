using Envoy.Config.Cluster.V3;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;
using LeastRequestConfig = Envoy.Extensions.LoadBalancingPolicies.LeastRequest.V3.LeastRequest;
using MaglevConfig = Envoy.Extensions.LoadBalancingPolicies.Maglev.V3.Maglev;
using MeshLoadBalancingPolicy = Mesh.Client.Model.LoadBalancingPolicy;
using PickFirstConfig = Envoy.Extensions.LoadBalancingPolicies.PickFirst.V3.PickFirst;
using RingHashConfig = Envoy.Extensions.LoadBalancingPolicies.RingHash.V3.RingHash;
using WrrLocalityConfig = Envoy.Extensions.LoadBalancingPolicies.WrrLocality.V3.WrrLocality;
using XdsLoadBalancingPolicy = Envoy.Config.Cluster.V3.LoadBalancingPolicy;

namespace Mesh.Client.Xds.Internal;

// The load-balancing policy: load_balancing_policy (gRFC A52) or the older lb_policy enum and its *_lb_config.
internal static partial class XdsClusterDecoder
{
    public const string RoundRobinTypeName = "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin";
    public const string LeastRequestTypeName = "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest";
    public const string RingHashTypeName = "envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash";
    public const string MaglevTypeName = "envoy.extensions.load_balancing_policies.maglev.v3.Maglev";
    public const string PickFirstTypeName = "envoy.extensions.load_balancing_policies.pick_first.v3.PickFirst";
    public const string WrrLocalityTypeName = "envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality";

    /// <summary>How deep <c>load_balancing_policy</c> may nest (WrrLocality inside WrrLocality...), as gRFC A52 says.</summary>
    public const int MaxPolicyDepth = 16;

    private static MeshLoadBalancingPolicy? DecodeLoadBalancing(Cluster cluster, List<string> errors)
    {
        // gRFC A52: load_balancing_policy, when set, replaces lb_policy and its *_lb_config.
        if (cluster.LoadBalancingPolicy is { } policy)
        {
            return DecodePolicyList(policy, "load_balancing_policy", 0, errors);
        }

        var context = $"lb_policy {EnumName(Cluster.Descriptor, Cluster.LbPolicyFieldNumber, (int)cluster.LbPolicy)}";
        switch (cluster.LbPolicy)
        {
            case Cluster.Types.LbPolicy.RoundRobin:
                return RoundRobinPolicy.Instance;
            case Cluster.Types.LbPolicy.Random:
                return RandomPolicy.Instance;
            case Cluster.Types.LbPolicy.LeastRequest:
                return LeastRequestFrom(cluster.LeastRequestLbConfig?.ChoiceCount, context, "least_request_lb_config.", errors);
            case Cluster.Types.LbPolicy.RingHash:
                var ringHash = cluster.RingHashLbConfig;
                if (ringHash is not null && ringHash.HashFunction != Cluster.Types.RingHashLbConfig.Types.HashFunction.XxHash)
                {
                    // gRPC hashes with xxHash64 only (gRFC A42).
                    errors.Add($"{context}: ring_hash_lb_config.hash_function must be XX_HASH, found {EnumName(Cluster.Types.RingHashLbConfig.Descriptor, Cluster.Types.RingHashLbConfig.HashFunctionFieldNumber, (int)ringHash.HashFunction)}");
                }

                return RingHashFrom(ringHash?.MinimumRingSize, ringHash?.MaximumRingSize, context, "ring_hash_lb_config.", errors);
            case Cluster.Types.LbPolicy.Maglev:
                return MaglevFrom(cluster.MaglevLbConfig?.TableSize, context, "maglev_lb_config.", errors);
            case Cluster.Types.LbPolicy.LoadBalancingPolicyConfig:
                errors.Add($"{context}: load_balancing_policy must be set");
                return null;
            default:
                errors.Add($"{context}: not supported (a client supports ROUND_ROBIN, LEAST_REQUEST, RING_HASH, MAGLEV and RANDOM)");
                return null;
        }
    }

    /// <summary>The first supported policy of the list (gRFC A52); an error when none is, or when the first supported one is invalid.</summary>
    private static MeshLoadBalancingPolicy? DecodePolicyList(XdsLoadBalancingPolicy list, string path, int depth, List<string> errors)
    {
        if (depth >= MaxPolicyDepth)
        {
            AddError(errors, path, $"nested deeper than {MaxPolicyDepth} levels");
            return null;
        }

        var unsupported = new List<string>();
        for (var i = 0; i < list.Policies.Count; i++)
        {
            var policyPath = Field(path, $"policies[{i}].typed_extension_config");
            if (list.Policies[i].TypedExtensionConfig is not { } config)
            {
                AddError(errors, policyPath, "field not present");
                return null;
            }

            var configPath = Field(policyPath, "typed_config");
            if (ExtractExtension(config.TypedConfig, configPath, errors) is not { } extension)
            {
                return null;
            }

            var context = $"{configPath} ({extension.TypeName})";
            switch (extension.TypeName)
            {
                case RoundRobinTypeName:
                    return RoundRobinPolicy.Instance;
                case LeastRequestTypeName:
                    return Unpack(extension, LeastRequestConfig.Parser, configPath, errors) is { } leastRequest
                        ? LeastRequestFrom(leastRequest.ChoiceCount, context, string.Empty, errors)
                        : null;
                case RingHashTypeName:
                    if (Unpack(extension, RingHashConfig.Parser, configPath, errors) is not { } ringHash)
                    {
                        return null;
                    }

                    if (ringHash.HashFunction is not (RingHashConfig.Types.HashFunction.XxHash or RingHashConfig.Types.HashFunction.DefaultHash))
                    {
                        errors.Add($"{context}: hash_function must be XX_HASH or DEFAULT_HASH, found {EnumName(RingHashConfig.Descriptor, RingHashConfig.HashFunctionFieldNumber, (int)ringHash.HashFunction)}");
                    }

                    return RingHashFrom(ringHash.MinimumRingSize, ringHash.MaximumRingSize, context, string.Empty, errors);
                case MaglevTypeName:
                    return Unpack(extension, MaglevConfig.Parser, configPath, errors) is { } maglev
                        ? MaglevFrom(maglev.TableSize, context, string.Empty, errors)
                        : null;
                case PickFirstTypeName:
                    return Unpack(extension, PickFirstConfig.Parser, configPath, errors) is { } pickFirst
                        ? new PickFirstPolicy { ShuffleAddressList = pickFirst.ShuffleAddressList }
                        : null;
                case WrrLocalityTypeName:
                    if (Unpack(extension, WrrLocalityConfig.Parser, configPath, errors) is not { } wrrLocality)
                    {
                        return null;
                    }

                    // Localities are always picked by weight here; the child policy picks inside a locality.
                    var childPath = Field(configPath, "endpoint_picking_policy");
                    if (wrrLocality.EndpointPickingPolicy is null)
                    {
                        AddError(errors, childPath, "field not present");
                        return null;
                    }

                    return DecodePolicyList(wrrLocality.EndpointPickingPolicy, childPath, depth + 1, errors);
                default:
                    unsupported.Add(extension.TypeName);
                    break;
            }
        }

        AddError(errors, path, unsupported.Count == 0
            ? "no policies listed"
            : $"no supported policy among {string.Join(", ", unsupported)}");
        return null;
    }

    private static LeastRequestPolicy? LeastRequestFrom(uint? choiceCount, string context, string fieldPrefix, List<string> errors)
    {
        var count = choiceCount ?? (uint)ModelRules.DefaultChoiceCount;
        if (!ModelRules.IsValidChoiceCount(count))
        {
            errors.Add($"{context}: {fieldPrefix}choice_count must be 2 or more, found {count}");
            return null;
        }

        // gRFC A48: least_request draws at most 10 candidates; larger values are capped, not rejected.
        return new LeastRequestPolicy { ChoiceCount = ModelRules.CapChoiceCount(count) };
    }

    private static RingHashPolicy? RingHashFrom(ulong? minimum, ulong? maximum, string context, string fieldPrefix, List<string> errors)
    {
        var errorCount = errors.Count;
        var min = minimum ?? (ulong)ModelRules.DefaultMinRingSize;
        var max = maximum ?? (ulong)ModelRules.DefaultMaxRingSize;
        if (!ModelRules.IsValidRingSize(max))
        {
            errors.Add($"{context}: {fieldPrefix}maximum_ring_size must be between 1 and {RingHashPolicy.RingSizeLimit}, found {max}");
        }

        if (!ModelRules.IsValidRingSize(min))
        {
            errors.Add($"{context}: {fieldPrefix}minimum_ring_size must be between 1 and {RingHashPolicy.RingSizeLimit}, found {min}");
        }
        else if (min > max)
        {
            errors.Add($"{context}: {fieldPrefix}minimum_ring_size ({min}) must not be greater than maximum_ring_size ({max})");
        }

        return errors.Count > errorCount ? null : new RingHashPolicy { MinRingSize = (long)min, MaxRingSize = (long)max };
    }

    private static MaglevPolicy? MaglevFrom(ulong? tableSize, string context, string fieldPrefix, List<string> errors)
    {
        var size = tableSize ?? MaglevPolicy.DefaultTableSize;
        if (!ModelRules.IsValidMaglevTableSize(size))
        {
            errors.Add($"{context}: {fieldPrefix}table_size must be a prime number no larger than {ModelRules.MaxMaglevTableSize}, found {size}");
            return null;
        }

        return new MaglevPolicy { TableSize = (int)size };
    }
}
