using Mesh.Client.Telemetry;

namespace OpenTelemetry.Trace
{
    /// <summary>Adds the mesh's spans to an OpenTelemetry tracer provider.</summary>
    public static class MeshTracerProviderBuilderExtensions
    {
        /// <summary>
        /// Collects the mesh's spans (<see cref="MeshTelemetry.Name"/>): one per logical HttpClient request or gRPC
        /// call to a mesh service, and, for a call of more than one attempt (retries, hedges), a child per attempt,
        /// with route, cluster, endpoint, locality, attempt number, outcome and the peer identity TLS verified.
        /// </summary>
        /// <param name="builder">The tracer provider builder.</param>
        /// <returns>The builder.</returns>
        public static TracerProviderBuilder AddMeshInstrumentation(this TracerProviderBuilder builder)
        {
            ArgumentNullException.ThrowIfNull(builder);
            return builder.AddSource(MeshTelemetry.Name);
        }
    }
}

namespace OpenTelemetry.Metrics
{
    /// <summary>Adds the mesh's metrics to an OpenTelemetry meter provider.</summary>
    public static class MeshMeterProviderBuilderExtensions
    {
        /// <summary>
        /// Collects the mesh's metrics (<see cref="MeshTelemetry.Name"/>): gRPC's per-call and per-attempt metrics
        /// (gRFC A66) and their HttpClient counterparts, the xDS client's (gRFC A78), and load balancing's
        /// (picks per endpoint and locality, retries, ejections, circuit-breaker overflows).
        /// </summary>
        /// <param name="builder">The meter provider builder.</param>
        /// <returns>The builder.</returns>
        public static MeterProviderBuilder AddMeshInstrumentation(this MeterProviderBuilder builder)
        {
            ArgumentNullException.ThrowIfNull(builder);
            return builder.AddMeter(MeshTelemetry.Name);
        }
    }
}
