namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>
/// Tests that run nested <c>dotnet build/pack/publish/run</c> commands: one at a time, never beside each other
/// (each takes both cores of the machine for a while).
/// </summary>
[CollectionDefinition("Nested dotnet builds", DisableParallelization = true)]
public sealed class NestedDotnetCollection;
