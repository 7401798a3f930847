namespace Mesh.Client.Telemetry;

/// <summary>The names the mesh reports traces and metrics under.</summary>
public static class MeshTelemetry
{
    /// <summary>The <c>ActivitySource</c> of mesh calls and attempts, and the <c>Meter</c> of the mesh's metrics.</summary>
    public const string Name = "Mesh.Client";
}
