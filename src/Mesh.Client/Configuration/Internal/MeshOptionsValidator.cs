using Microsoft.Extensions.Options;

namespace Mesh.Client.Configuration.Internal;

/// <summary>
/// Validates the whole <see cref="MeshOptions"/> by compiling them: every error names its configuration
/// path and value, e.g. <c>Mesh:Services:catalog:Endpoints:1 'localhost:abc': port is not a number</c>.
/// </summary>
internal sealed class MeshOptionsValidator : IValidateOptions<MeshOptions>
{
    public ValidateOptionsResult Validate(string? name, MeshOptions options)
    {
        var result = MeshOptionsCompiler.Compile(options, version: "validation");
        return result.Errors.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(result.Errors.Select(e => e.ToString()));
    }
}
