namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>Builds appsettings.json text for tests.</summary>
public static class MeshJson
{
    /// <summary>A whole appsettings.json with the given <c>Mesh:Services</c> body.</summary>
    public static string WithServices(string servicesBody) => $$"""
        {
          "Mesh": {
            "Services": {
              {{servicesBody}}
            }
          }
        }
        """;

    /// <summary>One service entry over h2c endpoints (the echo backends serve HTTP and gRPC over cleartext HTTP/2).</summary>
    public static string Service(string name, string endpointsJson, string policy = "round_robin", string extra = "") => $$"""
        "{{name}}": {
          "Protocol": "Http2",
          "LoadBalancing": {{(policy.StartsWith('{') ? policy : $"\"{policy}\"")}},
          "Endpoints": {{endpointsJson}}{{(extra.Length > 0 ? ",\n" + extra : string.Empty)}}
        }
        """;
}
