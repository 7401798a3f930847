namespace Mesh.Client.Tests.Packaging;

/// <summary>How AotPublishTests reads a publish's output: the lines below are as this SDK prints them.</summary>
public class AotWarningsTests
{
    private static readonly string[] Ours = ["/repo", "/tmp/artifacts"];

    [Fact]
    public void Parse_AnalyzerAndIlcLinesAndMsBuildSummary_OneWarningPerToolAndPlace()
    {
        var output = """
            /repo/tests/aot/App/Program.cs(33,62): warning IL2057: Unrecognized value passed to the parameter 'typeName' of method 'System.Type.GetType(String)'. [/repo/tests/aot/App/App.csproj]
              Generating native code
            /repo/tests/aot/App/Program.cs(33): Trim analysis warning IL2057: Probe.Bad(String): Unrecognized value passed to the parameter 'typeName' of method 'System.Type.GetType(String)'. [/repo/tests/aot/App/App.csproj]
            ILC : AOT analysis warning IL3050: Some.Dependency.Type.Method(): Using member 'System.Type.MakeGenericType(Type[])' which has 'RequiresDynamicCodeAttribute'. [/repo/tests/aot/App/App.csproj]
            Build succeeded.
            /repo/tests/aot/App/Program.cs(33): Trim analysis warning IL2057: Probe.Bad(String): Unrecognized value passed to the parameter 'typeName' of method 'System.Type.GetType(String)'. [/repo/tests/aot/App/App.csproj]
            /repo/src/Mesh.Client/X.cs(10,5): warning CS0168: The variable 'e' is declared but never used [/repo/src/Mesh.Client/Mesh.Client.csproj]
            """;

        var warnings = AotWarnings.Parse(output);

        Assert.Equal(3, warnings.Count);
        Assert.Equal(new AotWarning("IL2057", "/repo/tests/aot/App/Program.cs", null, "Unrecognized value passed to the parameter 'typeName' of method 'System.Type.GetType(String)'."), warnings[0]);
        Assert.Equal(new AotWarning("IL2057", "/repo/tests/aot/App/Program.cs", "Probe.Bad(String)", "Unrecognized value passed to the parameter 'typeName' of method 'System.Type.GetType(String)'."), warnings[1]);
        Assert.Equal("IL3050 Some.Dependency.Type.Method()", warnings[2].Key);
        Assert.Equal("ILC", warnings[2].Origin);
    }

    [Theory]
    [InlineData("/repo/src/Mesh.Client/Xds/Internal/XdsResourceDecoder.cs(291): Trim analysis warning IL2090: Mesh.Client.Xds.Internal.XdsResourceDecoder.EnumName<TEnum>(TEnum): 'this' argument does not satisfy 'DynamicallyAccessedMemberTypes.PublicFields'.", true)]
    [InlineData("/tmp/artifacts/obj/Mesh.Client/debug/Cluster.cs(12): Trim analysis warning IL2026: Envoy.Config.Cluster.V3.Cluster.M(): generated code", true)]
    [InlineData("ILC : Trim analysis warning IL2026: Mesh.Client.Telemetry.MeshStatus.M(): no file named", true)]
    [InlineData("ILC : Trim analysis warning IL2026: Microsoft.Extensions.DependencyInjection.MeshServiceCollectionExtensions.AddMesh(IServiceCollection): our extension class", true)]
    [InlineData("ILC : AOT analysis warning IL3050: Google.Protobuf.Reflection.ReflectionUtil.M(): a dependency's", false)]
    [InlineData("/_/src/Grpc.Net.Client/GrpcChannel.cs(80): Trim analysis warning IL2026: Grpc.Net.Client.GrpcChannel.M(): a dependency's, with its own build's path", false)]
    [InlineData("/repository-elsewhere/src/X.cs(1): Trim analysis warning IL2026: Other.X.M(): a path that only starts like ours", false)]
    public void IsOurs_ByFileOrElseByMember(string line, bool ours)
    {
        var warning = Assert.Single(AotWarnings.Parse(line));

        Assert.Equal(ours, AotWarnings.IsOurs(warning, Ours));
    }
}
