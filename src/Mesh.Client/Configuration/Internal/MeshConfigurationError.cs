namespace Mesh.Client.Configuration.Internal;

/// <summary>One invalid configuration value: where it is, what it was, what is wrong with it.</summary>
internal sealed record MeshConfigurationError(string Path, string? Value, string Problem)
{
    public override string ToString() => Value is null ? $"{Path}: {Problem}" : $"{Path} '{Value}': {Problem}";
}
