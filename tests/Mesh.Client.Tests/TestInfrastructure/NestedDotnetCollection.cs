namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>
/// Tests that run nested <c>dotnet build/pack/publish/run</c>: each is heavy on a small machine, so they never run at
/// the same time as each other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NestedDotnetCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Nested dotnet builds";
}
