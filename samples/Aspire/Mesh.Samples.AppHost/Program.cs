// An Aspire AppHost that runs the ASP.NET Core pair: two instances of Mesh.Samples.Backend and
// Mesh.Samples.Frontend. Aspire starts the processes and picks the backends' ports; the frontend's mesh
// gets both addresses as its "backend" service's endpoints and spreads the calls itself.
var builder = DistributedApplication.CreateBuilder(args);

// Not proxied: the frontend connects straight to each backend process, so the balancing is the mesh's alone.
var backend1 = builder.AddProject<Projects.Mesh_Samples_Backend>("backend-1")
    .WithHttpEndpoint(isProxied: false)
    .WithEnvironment("Backend__Instance", "backend-1")
    .WithHttpHealthCheck("/healthz");
var backend2 = builder.AddProject<Projects.Mesh_Samples_Backend>("backend-2")
    .WithHttpEndpoint(isProxied: false)
    .WithEnvironment("Backend__Instance", "backend-2")
    .WithHttpHealthCheck("/healthz");

// The same settings as Mesh:Services:backend:Endpoints in the frontend's appsettings.json, with the
// addresses Aspire gave the backends (host:port, as a mesh endpoint is written).
builder.AddProject<Projects.Mesh_Samples_Frontend>("frontend")
    .WithHttpEndpoint(port: 5100)
    .WithEnvironment("Mesh__Services__backend__Endpoints__0", backend1.GetEndpoint("http").Property(EndpointProperty.HostAndPort))
    .WithEnvironment("Mesh__Services__backend__Endpoints__1", backend2.GetEndpoint("http").Property(EndpointProperty.HostAndPort))
    .WithHttpHealthCheck("/healthz")
    .WaitFor(backend1)
    .WaitFor(backend2);

builder.Build().Run();
