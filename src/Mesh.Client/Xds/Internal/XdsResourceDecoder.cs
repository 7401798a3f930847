using System.Collections.Frozen;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using UdpaTypedStruct = Udpa.Type.V1.TypedStruct;
using XdsTypedStruct = Xds.Type.V3.TypedStruct;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Decodes and validates the resources of a DiscoveryResponse into <see cref="XdsResourceUpdate"/>s, the way
/// gRPC's xDS client does: unsupported values in fields the client uses make the resource invalid (the
/// client NACKs it), fields the client does not use are ignored. Every error names the offending field by
/// its proto path relative to the resource, e.g. <c>virtual_hosts[0].routes[2].match.safe_regex: ...</c>;
/// all problems of a resource are reported at once, separated by <c>"; "</c>.
/// </summary>
internal static class XdsResourceDecoder
{
    private const string TypedStructTypeName = "xds.type.v3.TypedStruct";
    private const string UdpaTypedStructTypeName = "udpa.type.v1.TypedStruct";

    // TypedStruct values are JSON; the registry lets nested Any fields (WrrLocality's child policies) be read too.
    private static readonly JsonParser TypedStructParser = new(JsonParser.Settings.Default
        .WithIgnoreUnknownFields(true)
        .WithTypeRegistry(TypeRegistry.FromMessages(
            Envoy.Extensions.LoadBalancingPolicies.RoundRobin.V3.RoundRobin.Descriptor,
            Envoy.Extensions.LoadBalancingPolicies.LeastRequest.V3.LeastRequest.Descriptor,
            Envoy.Extensions.LoadBalancingPolicies.RingHash.V3.RingHash.Descriptor,
            Envoy.Extensions.LoadBalancingPolicies.Maglev.V3.Maglev.Descriptor,
            Envoy.Extensions.LoadBalancingPolicies.PickFirst.V3.PickFirst.Descriptor,
            Envoy.Extensions.LoadBalancingPolicies.WrrLocality.V3.WrrLocality.Descriptor,
            XdsTypedStruct.Descriptor,
            UdpaTypedStruct.Descriptor)));

    /// <summary>
    /// Decodes one resource of a DiscoveryResponse for a client whose bootstrap declares no certificate
    /// providers (<see cref="XdsDecodeContext.Empty"/>).
    /// </summary>
    /// <param name="typeUrl">The response's <c>type_url</c>; a resource of another type is invalid.</param>
    /// <param name="resource">The resource as the response carries it.</param>
    public static XdsDecodeResult Decode(string typeUrl, Any resource) => Decode(typeUrl, resource, XdsDecodeContext.Empty);

    /// <summary>
    /// Decodes one resource of a DiscoveryResponse. <paramref name="resource"/> may be wrapped in
    /// <c>envoy.service.discovery.v3.Resource</c>; the wrapper's <c>name</c> wins when set.
    /// </summary>
    /// <param name="typeUrl">The response's <c>type_url</c>; a resource of another type is invalid.</param>
    /// <param name="resource">The resource as the response carries it.</param>
    /// <param name="context">What validity depends on besides the resource: the client's bootstrap.</param>
    public static XdsDecodeResult Decode(string typeUrl, Any resource, XdsDecodeContext context)
    {
        ArgumentNullException.ThrowIfNull(typeUrl);
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(context);

        string? wrapperName = null;
        if (resource.TypeUrl == XdsTypeUrls.Resource)
        {
            Resource wrapper;
            try
            {
                wrapper = Resource.Parser.ParseFrom(resource.Value);
            }
            catch (InvalidProtocolBufferException ex)
            {
                return XdsDecodeResult.Invalid(null, $"cannot parse the envoy.service.discovery.v3.Resource wrapper: {ex.Message}");
            }

            wrapperName = string.IsNullOrEmpty(wrapper.Name) ? null : wrapper.Name;
            if (wrapper.Resource_ is null)
            {
                return XdsDecodeResult.Invalid(wrapperName, "the envoy.service.discovery.v3.Resource wrapper has no resource");
            }

            resource = wrapper.Resource_;
        }

        if (resource.TypeUrl != typeUrl)
        {
            return XdsDecodeResult.Invalid(wrapperName, $"the resource's type_url \"{resource.TypeUrl}\" differs from the response's type_url \"{typeUrl}\"");
        }

        return typeUrl switch
        {
            XdsTypeUrls.Listener => Decode(resource, Listener.Parser, wrapperName, l => l.Name, XdsListenerDecoder.Decode),
            XdsTypeUrls.RouteConfiguration => Decode(resource, RouteConfiguration.Parser, wrapperName, r => r.Name, XdsRouteDecoder.Decode),
            XdsTypeUrls.Cluster => Decode(resource, Cluster.Parser, wrapperName, c => c.Name, (c, errors) => XdsClusterDecoder.Decode(c, context, errors)),
            XdsTypeUrls.ClusterLoadAssignment => Decode(resource, ClusterLoadAssignment.Parser, wrapperName, c => c.ClusterName, XdsEndpointDecoder.Decode),
            _ => XdsDecodeResult.Invalid(wrapperName, $"unsupported resource type \"{typeUrl}\""),
        };
    }

    private static XdsDecodeResult Decode<T>(
        Any resource,
        MessageParser<T> parser,
        string? wrapperName,
        Func<T, string> getName,
        Func<T, List<string>, XdsResourceUpdate?> decode)
        where T : IMessage<T>, new()
    {
        T message;
        try
        {
            message = parser.ParseFrom(resource.Value);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return XdsDecodeResult.Invalid(wrapperName, $"cannot parse the {new T().Descriptor.FullName}: {ex.Message}");
        }

        var name = wrapperName ?? getName(message);
        if (string.IsNullOrEmpty(name))
        {
            return XdsDecodeResult.Invalid(null, $"the {message.Descriptor.FullName} has no name");
        }

        var errors = new List<string>();
        var update = decode(message, errors);
        return errors.Count > 0 || update is null
            ? XdsDecodeResult.Invalid(name, errors.Count > 0 ? string.Join("; ", errors) : "invalid resource")
            : XdsDecodeResult.Valid(name, update);
    }

    /// <summary>Appends <paramref name="field"/> to a proto field path.</summary>
    internal static string Field(string path, string field) => path.Length == 0 ? field : $"{path}.{field}";

    /// <summary>Records an error about the field at <paramref name="path"/>.</summary>
    internal static void AddError(List<string> errors, string path, string message) =>
        errors.Add(path.Length == 0 ? message : $"{path}: {message}");

    /// <summary>The type name of a type URL: the part after the last <c>/</c>, as gRPC reads it; <see langword="null"/> when there is none.</summary>
    internal static string? TypeName(string typeUrl)
    {
        var slash = typeUrl.LastIndexOf('/');
        return slash < 0 || slash == typeUrl.Length - 1 ? null : typeUrl[(slash + 1)..];
    }

    /// <summary>The canonical type URL of a type name.</summary>
    internal static string TypeUrlOf(string typeName) => "type.googleapis.com/" + typeName;

    /// <summary>
    /// Reads an extension's typed config (an <c>Any</c>), looking through <c>xds.type.v3.TypedStruct</c> and
    /// <c>udpa.type.v1.TypedStruct</c> wrappers: the extension's type is then the wrapper's <c>type_url</c>.
    /// </summary>
    /// <returns>The extension, or <see langword="null"/> after recording an error.</returns>
    internal static XdsExtension? ExtractExtension(Any? any, string path, List<string> errors)
    {
        if (any is null)
        {
            AddError(errors, path, "field not present");
            return null;
        }

        var typeName = TypeName(any.TypeUrl);
        if (typeName is null)
        {
            AddError(errors, Field(path, "type_url"), $"invalid type URL \"{any.TypeUrl}\"");
            return null;
        }

        if (typeName is not (TypedStructTypeName or UdpaTypedStructTypeName))
        {
            return new XdsExtension(typeName, any.Value, null);
        }

        string innerTypeUrl;
        Struct? value;
        try
        {
            if (typeName == TypedStructTypeName)
            {
                var typedStruct = XdsTypedStruct.Parser.ParseFrom(any.Value);
                (innerTypeUrl, value) = (typedStruct.TypeUrl, typedStruct.Value);
            }
            else
            {
                var typedStruct = UdpaTypedStruct.Parser.ParseFrom(any.Value);
                (innerTypeUrl, value) = (typedStruct.TypeUrl, typedStruct.Value);
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            AddError(errors, path, $"cannot parse the {typeName}: {ex.Message}");
            return null;
        }

        var innerTypeName = TypeName(innerTypeUrl);
        if (innerTypeName is null)
        {
            AddError(errors, Field(path, $"value[{typeName}].type_url"), $"invalid type URL \"{innerTypeUrl}\"");
            return null;
        }

        return new XdsExtension(innerTypeName, null, value ?? new Struct());
    }

    /// <summary>
    /// Reads an extension's configuration as message <typeparamref name="T"/>: from its bytes, or from the
    /// JSON form of a TypedStruct's value (unknown JSON fields are ignored, like unknown proto fields).
    /// </summary>
    /// <returns>The message, or <see langword="null"/> after recording an error.</returns>
    internal static T? Unpack<T>(XdsExtension extension, MessageParser<T> parser, string path, List<string> errors)
        where T : class, IMessage<T>, new()
    {
        try
        {
            if (extension.Value is { } bytes)
            {
                return parser.ParseFrom(bytes);
            }

            var json = JsonFormatter.Default.Format(extension.Struct ?? new Struct());
            return (T)TypedStructParser.Parse(json, new T().Descriptor);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException)
        {
            AddError(errors, path, $"cannot parse the {new T().Descriptor.FullName}: {ex.Message}");
            return null;
        }
    }

    /// <summary>Whether a ConfigSource points at the ADS stream (<c>ads</c> or <c>self</c>), the only sources a gRPC client follows.</summary>
    internal static void ValidateConfigSource(ConfigSource? source, string path, List<string> errors)
    {
        if (source is null)
        {
            AddError(errors, path, "field not present");
        }
        else if (source.ConfigSourceSpecifierCase is not (ConfigSource.ConfigSourceSpecifierOneofCase.Ads or ConfigSource.ConfigSourceSpecifierOneofCase.Self))
        {
            AddError(errors, path, "must be ads or self (the client fetches every resource over its one ADS stream)");
        }
    }

    /// <summary>Converts a Duration, checking the range gRPC accepts (non-negative, at most 10,000 years).</summary>
    internal static TimeSpan? ParseDuration(Duration duration, string path, List<string> errors)
    {
        const long MaxSeconds = 315_576_000_000;
        var valid = true;
        if (duration.Seconds is < 0 or > MaxSeconds)
        {
            AddError(errors, Field(path, "seconds"), FormattableString.Invariant($"must be between 0 and {MaxSeconds}, found {duration.Seconds}"));
            valid = false;
        }

        if (duration.Nanos is < 0 or > 999_999_999)
        {
            AddError(errors, Field(path, "nanos"), FormattableString.Invariant($"must be between 0 and 999999999, found {duration.Nanos}"));
            valid = false;
        }

        return valid ? TimeSpan.FromTicks((duration.Seconds * TimeSpan.TicksPerSecond) + (duration.Nanos / 100)) : null;
    }

    /// <summary>
    /// Converts a FractionalPercent to parts per million; a numerator above its denominator means "always".
    /// An unknown denominator is an error at <c><paramref name="path"/>.denominator</c>.
    /// </summary>
    internal static uint? ToPerMillion(Envoy.Type.V3.FractionalPercent fraction, string path, List<string> errors)
    {
        ulong multiplier;
        switch (fraction.Denominator)
        {
            case Envoy.Type.V3.FractionalPercent.Types.DenominatorType.Hundred:
                multiplier = 10_000;
                break;
            case Envoy.Type.V3.FractionalPercent.Types.DenominatorType.TenThousand:
                multiplier = 100;
                break;
            case Envoy.Type.V3.FractionalPercent.Types.DenominatorType.Million:
                multiplier = 1;
                break;
            default:
                AddError(errors, Field(path, "denominator"), $"unknown denominator {EnumName(Envoy.Type.V3.FractionalPercent.Descriptor, Envoy.Type.V3.FractionalPercent.DenominatorFieldNumber, (int)fraction.Denominator)}");
                return null;
        }

        return (uint)Math.Min(fraction.Numerator * multiplier, 1_000_000UL);
    }

    /// <summary>
    /// The name a proto enum value has in the .proto file (e.g. <c>MURMUR_HASH_2</c>), or its number when the enum has
    /// no such value (for error messages). Read from the message's descriptor (data the generated code embeds), not by
    /// reflection over the C# enum's fields, so that it holds under trimming and native AOT.
    /// </summary>
    /// <param name="message">The descriptor of the message with the enum field, e.g. <c>Cluster.Descriptor</c>.</param>
    /// <param name="fieldNumber">The enum field's number, e.g. <c>Cluster.TypeFieldNumber</c>.</param>
    /// <param name="value">The field's value.</param>
    internal static string EnumName(MessageDescriptor message, int fieldNumber, int value)
    {
        var field = message.FindFieldByNumber(fieldNumber)
            ?? throw new ArgumentOutOfRangeException(nameof(fieldNumber), fieldNumber, $"{message.FullName} has no field number {fieldNumber}.");
        return field.EnumType.FindValueByNumber(value)?.Name ?? value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// What the validity of a resource depends on besides the resource itself, taken from the client's bootstrap:
/// a Cluster's TLS may only name certificate provider instances the bootstrap declares (gRFC A29), as in
/// gRPC's decode context.
/// </summary>
internal sealed class XdsDecodeContext
{
    private XdsDecodeContext(FrozenSet<string> certificateProviders)
    {
        CertificateProviders = certificateProviders;
    }

    /// <summary>A bootstrap without certificate providers: TLS that names a provider instance is invalid.</summary>
    public static XdsDecodeContext Empty { get; } = new(FrozenSet<string>.Empty);

    /// <summary>The names of the bootstrap's <c>certificate_providers</c>.</summary>
    public FrozenSet<string> CertificateProviders { get; }

    /// <summary>The context of a client with <paramref name="bootstrap"/>.</summary>
    public static XdsDecodeContext For(XdsBootstrap bootstrap)
    {
        ArgumentNullException.ThrowIfNull(bootstrap);
        return ForCertificateProviders(bootstrap.CertificateProviders.Keys);
    }

    /// <summary>A context whose bootstrap declares the certificate provider instances <paramref name="names"/>.</summary>
    public static XdsDecodeContext ForCertificateProviders(IEnumerable<string> names) =>
        new(names.ToFrozenSet(StringComparer.Ordinal));
}

/// <summary>An extension's configuration: its type name (without the URL prefix) and either its bytes or a TypedStruct's value.</summary>
/// <param name="TypeName">The full proto type name, e.g. <c>envoy.extensions.filters.http.router.v3.Router</c>.</param>
/// <param name="Value">The serialised message, when it came as a plain <c>Any</c>.</param>
/// <param name="Struct">The JSON-like value, when it came in a TypedStruct.</param>
internal readonly record struct XdsExtension(string TypeName, ByteString? Value, Struct? Struct);
