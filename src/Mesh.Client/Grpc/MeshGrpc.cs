using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Mesh.Client.Grpc.Internal;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Client.Grpc;

/// <summary>Names and helpers for the gRPC front door.</summary>
public static class MeshGrpc
{
    /// <summary>The target scheme the mesh resolves: <c>xds:///catalog</c>.</summary>
    public const string Scheme = "xds";

    /// <summary>The name of the load-balancing policy the mesh installs on its channels.</summary>
    public const string LoadBalancingPolicyName = "mesh_xds_router";

    /// <summary>
    /// Creates a channel to a mesh target such as <c>xds:///catalog</c>, with the mesh's resolver and
    /// balancer from <paramref name="services"/> and plaintext transport unless
    /// <paramref name="options"/> says otherwise. Routing, balancing, circuit breaking and outlier detection
    /// apply to every call; for the routes' timeouts, retries and fault injection use
    /// <see cref="CreateCallInvoker"/> (or a client from <c>AddGrpcClient</c>), which adds the mesh's interceptor.
    /// </summary>
    /// <param name="target">The target, <c>xds:///name</c>.</param>
    /// <param name="services">The service provider that <c>AddMesh()</c> was called on.</param>
    /// <param name="options">Further channel options; <see cref="GrpcChannelOptions.ServiceProvider"/> is set for you.</param>
    /// <returns>The channel.</returns>
    public static GrpcChannel CreateChannel(string target, IServiceProvider services, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(services);
        options ??= new GrpcChannelOptions();
        options.ServiceProvider = services;
        options.Credentials ??= ChannelCredentials.Insecure;
        if (options.HttpHandler is null && options.HttpClient is null)
        {
            // The mesh's transport handler tells retries when a call is committed, and the trace-context handler
            // puts the mesh span's context on the wire; the channel still finds the SocketsHttpHandler inside
            // for its subchannels.
            options.HttpHandler = new MeshGrpcTransportHandler(
                new Telemetry.Internal.MeshTraceContextHandler(new SocketsHttpHandler { EnableMultipleHttp2Connections = true }));
            options.DisposeHttpClient = true;
        }

        return GrpcChannel.ForAddress(target, options);
    }

    /// <summary>
    /// Creates a call invoker for a mesh target with the mesh's whole per-call behaviour: route timeouts
    /// (gRFC A31), retries (A44) and fault injection (A33) on top of what <see cref="CreateChannel"/> gives.
    /// Dispose the channel it returns when done.
    /// </summary>
    /// <param name="target">The target, <c>xds:///name</c>.</param>
    /// <param name="services">The service provider that <c>AddMesh()</c> was called on.</param>
    /// <param name="channel">The channel under the invoker.</param>
    /// <param name="options">Further channel options.</param>
    /// <returns>The call invoker; pass it to a generated client's constructor.</returns>
    public static CallInvoker CreateCallInvoker(string target, IServiceProvider services, out GrpcChannel channel, GrpcChannelOptions? options = null)
    {
        channel = CreateChannel(target, services, options);
        return channel.Intercept(CreateInterceptor(new Uri(target), services));
    }

    /// <summary>The mesh's interceptor for calls to <paramref name="target"/>.</summary>
    internal static Interceptor CreateInterceptor(Uri target, IServiceProvider services) =>
        new MeshGrpcInterceptor(
            services.GetRequiredService<MeshRuntime>(),
            MeshResolverFactory.TargetName(target),
            (services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger<MeshGrpcInterceptor>());
}
