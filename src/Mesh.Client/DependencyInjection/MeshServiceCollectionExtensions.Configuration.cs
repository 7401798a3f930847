using Mesh.Client.Configuration;
using Mesh.Client.Configuration.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Where the mesh's options come from when <c>AddMesh</c> is called more than once.</summary>
/// <remarks>
/// <para>
/// Each call names one source: the application's <c>Mesh</c> section (<c>AddMesh()</c>), a section
/// (<c>AddMesh(section)</c>) or code (<c>AddMesh(configure)</c>). Every distinct source is applied once, in
/// the order it was first registered (every section at the place of the first call that names one): a section named twice (by path, case-insensitive —
/// <c>AddMesh()</c> and <c>AddMesh(configuration.GetSection("Mesh"))</c> name the same one) is read once, and a
/// delegate passed twice runs once. So a library and the application that both call <c>AddMesh</c> get one mesh
/// with one copy of each endpoint.
/// </para>
/// <para>
/// Two different sections are both read, as two configuration providers would be, except that a section that does
/// not exist is skipped (so a library's <c>AddMesh()</c> does not make the application's own section's messages
/// name <c>Mesh</c>). Merging, rather than letting the first or the last registration win, is the least
/// surprising: no call's configuration is silently ignored, whichever order the library and the application run in.
/// </para>
/// </remarks>
public static partial class MeshServiceCollectionExtensions
{
    private static void AddMeshSection(IServiceCollection services, IConfigurationSection? section)
    {
        // One reader and one change-token source for every section; each section is an entry of its own.
        services.TryAddSingleton<MeshSections>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<MeshOptions>, MeshSections>(sp => sp.GetRequiredService<MeshSections>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<MeshOptions>, MeshSections>(sp => sp.GetRequiredService<MeshSections>()));
        var key = section?.Path;
        if (!services.Any(d => d.ServiceType == typeof(MeshSection) && d.ImplementationInstance is MeshSection existing &&
            string.Equals(existing.Section?.Path, key, StringComparison.OrdinalIgnoreCase) && (existing.Section is null) == (section is null)))
        {
            services.AddSingleton(new MeshSection(section));
        }
    }

    private static void AddMeshConfigure(IServiceCollection services, Action<MeshOptions> configure)
    {
        if (!services.Any(d => d.ImplementationInstance is ConfigureNamedOptions<MeshOptions> existing && existing.Action == configure))
        {
            services.AddSingleton<IConfigureOptions<MeshOptions>>(new ConfigureNamedOptions<MeshOptions>(Options.Options.DefaultName, configure));
        }
    }

    /// <summary>One registered section; <see langword="null"/> for the application's <c>Mesh</c> section.</summary>
    private sealed record MeshSection(IConfigurationSection? Section);

    /// <summary>Reads every registered section, once each, and follows their reloads.</summary>
    private sealed class MeshSections(IEnumerable<MeshSection> registrations, IServiceProvider services) : IConfigureOptions<MeshOptions>, IOptionsChangeTokenSource<MeshOptions>
    {
        private IConfigurationSection[]? _sections;

        public string? Name => Options.Options.DefaultName;

        public void Configure(MeshOptions options)
        {
            var sections = Sections();
            var existing = sections.Where(s => s.Exists()).ToArray();
            foreach (var section in existing.Length > 0 ? existing : sections.Take(1))
            {
                new ConfigureMeshFromConfiguration(section).Configure(options);
            }
        }

        public IChangeToken GetChangeToken()
        {
            var sections = Sections();
            return sections.Length == 1 ? sections[0].GetReloadToken() : new CompositeChangeToken([.. sections.Select(s => s.GetReloadToken())]);
        }

        private IConfigurationSection[] Sections() => _sections ??=
        [
            .. registrations
                .Select(r => r.Section ?? (services.GetService<IConfiguration>() ?? new ConfigurationBuilder().Build()).GetSection(MeshOptions.SectionName))
                .DistinctBy(s => s.Path, StringComparer.OrdinalIgnoreCase),
        ];
    }
}
