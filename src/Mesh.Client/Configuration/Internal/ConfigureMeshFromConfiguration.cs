using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Mesh.Client.Configuration.Internal;

/// <summary>Applies a configuration section to <see cref="MeshOptions"/> through <see cref="MeshConfigurationReader"/>.</summary>
internal sealed class ConfigureMeshFromConfiguration(IConfigurationSection section) : IConfigureOptions<MeshOptions>
{
    public void Configure(MeshOptions options) => MeshConfigurationReader.Read(section, options);
}
