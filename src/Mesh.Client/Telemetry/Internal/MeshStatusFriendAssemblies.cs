using System.Runtime.CompilerServices;

// Mesh.Client.AspNetCore serves the CSDS service, whose generated types (like every Envoy type here) are internal.
[assembly: InternalsVisibleTo("Mesh.Client.AspNetCore")]
