namespace Mesh.Client.Telemetry.Internal;

/// <summary>Boxed small integers made once (ports up to 1023 excepted), so that span attributes and metric tags do not box per request.</summary>
internal static class Boxed
{
    private static readonly object[] Small = [.. Enumerable.Range(0, 1024).Select(static i => (object)i)];

    public static object Int(int value) => (uint)value < (uint)Small.Length ? Small[value] : value;
}
