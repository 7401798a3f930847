using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Grpc.Net.ClientFactory;
using Mesh.Client;
using Mesh.Client.Configuration;
using Mesh.Client.Configuration.Internal;
using Mesh.Client.Grpc;
using Mesh.Client.Grpc.Internal;
using Mesh.Client.Http.Internal;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Security.Internal;
using Mesh.Client.ServiceDiscovery.Internal;
using Mesh.Client.Telemetry.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the in-process service mesh.</summary>
/// <remarks>
/// Every overload may be called any number of times, in any order, by libraries and by the application: the mesh
/// is registered once, each configuration section is read once, and each <see cref="Action{MeshOptions}"/> runs
/// once however often it is passed (see <c>AddMeshSection</c>).
/// </remarks>
public static partial class MeshServiceCollectionExtensions
{
    /// <summary>
    /// Adds the mesh, configured from the <c>Mesh</c> section of the application's configuration. Every
    /// <see cref="System.Net.Http.HttpClient"/> from <c>IHttpClientFactory</c> then routes and balances
    /// requests to mesh services, and <c>xds:///name</c> gRPC targets resolve through the mesh.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddMesh(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddMeshCore(services);
        AddMeshSection(services, section: null);
        return services;
    }

    /// <summary>Adds the mesh, configured from <paramref name="section"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The configuration section with the mesh settings.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddMesh(this IServiceCollection services, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        AddMeshCore(services);
        AddMeshSection(services, section);
        return services;
    }

    /// <summary>Adds the mesh, configured in code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the mesh options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddMesh(this IServiceCollection services, Action<MeshOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        AddMeshCore(services);
        AddMeshConfigure(services, configure);
        return services;
    }

    private static void AddMeshCore(IServiceCollection services)
    {
        // The runtime and its parts: plain registrations, one per service provider.
        services.TryAddSingleton(MeshRandom.Shared);
        services.TryAddSingleton(sp => new MeshMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton(sp => new CertificateProviderStore(Time(sp), sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton(sp => new MeshTableStore(new MeshTableCompiler(
            sp.GetRequiredService<MeshRandom>(), Time(sp), sp.GetRequiredService<CertificateProviderStore>(), new MeshTlsNames())));
        services.TryAddSingleton<ConfigurationMeshSource>();
        services.TryAddSingleton(sp => new MeshControlPlane(
            sp.GetRequiredService<IOptions<MeshOptions>>(),
            sp.GetRequiredService<MeshTableStore>(),
            sp.GetRequiredService<CertificateProviderStore>(),
            sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance,
            Time(sp),
            sp.GetRequiredService<MeshRandom>(),
            sp.GetRequiredService<MeshMetrics>()));
        services.TryAddSingleton(sp => new MeshRuntime(
            sp.GetRequiredService<MeshTableStore>(),
            sp.GetRequiredService<CertificateProviderStore>(),
            sp.GetRequiredService<MeshMetrics>(),
            sp.GetRequiredService<MeshRandom>(),
            Time(sp),
            sp.GetRequiredService<ConfigurationMeshSource>(),
            sp.GetRequiredService<MeshControlPlane>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MeshOptions>, MeshOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MeshHostedService>());
        MeshTelemetryRegistration.Add(services);

        // gRPC front door: the xds resolver scheme and the mesh balancer, found by GrpcChannel through
        // GrpcChannelOptions.ServiceProvider.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ResolverFactory, MeshResolverFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<LoadBalancerFactory, MeshLoadBalancerFactory>());

        // Microsoft.Extensions.ServiceDiscovery sees mesh services.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceEndpointProviderFactory, MeshServiceEndpointProviderFactory>());

        // The standard resilience handler leaves alone what the mesh retries (see MeshStandardResilience).
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<Microsoft.Extensions.Http.Resilience.HttpStandardResilienceOptions>, MeshStandardResilience>());

        services.TryAddTransient<MeshHttpHandler>();
        if (services.Any(d => d.ServiceType == typeof(MeshRegistrationMarker)))
        {
            return;
        }

        // What follows has no TryAdd form: it is added once, with the marker.
        services.AddSingleton<MeshRegistrationMarker>();
        services.AddOptions<MeshOptions>().ValidateOnStart();
        services.AddMetrics();
        services.AddServiceDiscoveryCore();

        // HttpClient front door: every client from IHttpClientFactory.
        services.ConfigureHttpClientDefaults(builder => builder.AddHttpMessageHandler<MeshHttpHandler>());

        // gRPC clients from the client factory with an xds:/// address default to plaintext, as gRPC's
        // own xDS clients do when the control plane asks for no TLS.
        services.PostConfigureAll<GrpcClientFactoryOptions>(options =>
        {
            if (options.Address is { } address && string.Equals(address.Scheme, MeshGrpc.Scheme, StringComparison.OrdinalIgnoreCase))
            {
                options.ChannelOptionsActions.Add(channel => channel.Credentials ??= ChannelCredentials.Insecure);

                // The route's timeouts, retries and fault injection run in the mesh's interceptor.
                options.InterceptorRegistrations.Add(new InterceptorRegistration(InterceptorScope.Channel, sp => MeshGrpc.CreateInterceptor(address, sp)));
            }
        });
    }

    private static TimeProvider Time(IServiceProvider services) => services.GetService<TimeProvider>() ?? TimeProvider.System;

    private sealed class MeshRegistrationMarker;
}
