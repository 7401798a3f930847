using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Grpc.Net.ClientFactory;
using Mesh.Client;
using Mesh.Client.Configuration;
using Mesh.Client.Configuration.Internal;
using Mesh.Client.Grpc;
using Mesh.Client.Grpc.Internal;
using Mesh.Client.Http.Internal;
using Mesh.Client.Internal;
using Mesh.Client.Resilience.Internal;
using Mesh.Client.ServiceDiscovery.Internal;
using Mesh.Client.Telemetry.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Mesh.Client.Xds.Internal;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the in-process service mesh.</summary>
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
        services.AddSingleton<IConfigureOptions<MeshOptions>>(sp => new ConfigureMeshFromConfiguration(DefaultSection(sp)));
        services.AddSingleton<IOptionsChangeTokenSource<MeshOptions>>(sp => new ConfigurationChangeTokenSource<MeshOptions>(DefaultSection(sp)));
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
        services.AddSingleton<IConfigureOptions<MeshOptions>>(new ConfigureMeshFromConfiguration(section));
        services.AddSingleton<IOptionsChangeTokenSource<MeshOptions>>(new ConfigurationChangeTokenSource<MeshOptions>(section));
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
        services.Configure(configure);
        return services;
    }

    private static IConfigurationSection DefaultSection(IServiceProvider services) =>
        (services.GetService<IConfiguration>() ?? new ConfigurationBuilder().Build()).GetSection(MeshOptions.SectionName);

    private static void AddMeshCore(IServiceCollection services)
    {
        services.AddOptions<MeshOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MeshOptions>, MeshOptionsValidator>());
        services.TryAddSingleton(MeshRandom.Shared);
        services.TryAddSingleton<ConfigurationMeshSource>();
        services.AddMetrics();
        services.TryAddSingleton(sp => new MeshMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        MeshTelemetryRegistration.Add(services);
        services.TryAddSingleton(sp =>
        {
            var runtime = new MeshRuntime(sp.GetRequiredService<MeshRandom>(), sp.GetService<TimeProvider>() ?? TimeProvider.System)
            {
                LoggerFactory = sp.GetService<ILoggerFactory>(),
                Metrics = sp.GetRequiredService<MeshMetrics>(),
            };
            runtime.Metrics.Observe(() => runtime.Current.Clusters.Values);
            var configuration = sp.GetRequiredService<ConfigurationMeshSource>();
            configuration.Start(runtime);
            StartXds(sp, runtime);
            configuration.WarnIfEmpty(runtime, sp.GetRequiredService<IOptions<MeshOptions>>().Value.ConfigurationPath);
            return runtime;
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MeshHostedService>());

        // gRPC front door: the xds resolver scheme and the mesh balancer, found by GrpcChannel through
        // GrpcChannelOptions.ServiceProvider.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ResolverFactory, MeshResolverFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<LoadBalancerFactory, MeshLoadBalancerFactory>());

        // Microsoft.Extensions.ServiceDiscovery sees mesh services.
        services.AddServiceDiscoveryCore();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceEndpointProviderFactory, MeshServiceEndpointProviderFactory>());

        services.TryAddTransient<MeshHttpHandler>();
        if (services.Any(d => d.ServiceType == typeof(MeshRegistrationMarker)))
        {
            return;
        }

        services.AddSingleton<MeshRegistrationMarker>();

        // HttpClient front door: every client from IHttpClientFactory.
        services.ConfigureHttpClientDefaults(builder => builder.AddHttpMessageHandler<MeshHttpHandler>());

        // A client that also has the standard resilience handler (AddStandardResilienceHandler) would retry
        // again what the mesh already retries: the standard retry leaves alone requests whose mesh route
        // retries or hedges, and keeps retrying all others as configured.
        services.PostConfigureAll<HttpStandardResilienceOptions>(options =>
        {
            HttpRoutePipeline.StandardResilienceInUse = true;
            var inner = options.Retry.ShouldHandle;
            options.Retry.ShouldHandle = args =>
                args.Context.GetRequestMessage() is { } request &&
                request.Options.TryGetValue(HttpRoutePipeline.RetriedByMesh, out var retried) && retried
                    ? ValueTask.FromResult(false)
                    : inner(args);
        });

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

    /// <summary>Connects the mesh to the control plane the bootstrap names, if any.</summary>
    private static void StartXds(IServiceProvider services, MeshRuntime runtime)
    {
        var options = services.GetRequiredService<IOptions<MeshOptions>>().Value;
        var bootstrap = XdsBootstrapLoader.Load(Environment.GetEnvironmentVariable, options.Xds.Bootstrap, options.ConfigurationPath + ":Xds:Bootstrap");
        if (bootstrap is null)
        {
            return;
        }

        // The bootstrap's certificate providers (gRFC A29), which clusters' TLS settings from xDS name.
        foreach (var (name, provider) in bootstrap.CertificateProviders)
        {
            if (provider.FileWatcher is { } files)
            {
                runtime.Certificates.Register(name, new Mesh.Client.Security.Internal.FileWatcherSettings(files.CertificateFile, files.PrivateKeyFile, files.CaCertificateFile, files.RefreshInterval));
            }
        }

        var loggerFactory = services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        var client = new XdsClient(bootstrap, loggerFactory, services.GetService<TimeProvider>() ?? TimeProvider.System, runtime.Random, runtime.Metrics);
        IEnumerable<string> hosts = options.Xds.HttpHosts.Count > 0 ? options.Xds.HttpHosts : MeshXdsOptions.DefaultHttpHosts;
        runtime.Discovery = new XdsMeshSource(client, runtime, hosts, options.Xds.ConfigWaitTimeout, loggerFactory.CreateLogger<XdsMeshSource>());
        client.Start();
    }

    private sealed class MeshRegistrationMarker;
}
