using System.Reflection;
using Mesh.Client.Configuration;
using Mesh.Client.Telemetry;
using Mesh.Client.Testing;
using Microsoft.AspNetCore.Builder;

namespace Mesh.Client.Tests.Documentation;

/// <summary>
/// The public surface of the three packages is one a user can reach: every public type is an entry point (a static
/// class, an exception the application may catch, a service it resolves) or appears in the signature of a public
/// member of a type reached from one. A public type that nothing reaches is machinery that should be internal; the
/// PublicAPI.*.txt baselines list the surface, this test keeps it connected.
/// </summary>
public sealed class PublicApiSurfaceTests
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>
    /// Entry points besides static classes and exceptions, each a decision: services an application resolves from the
    /// container (or registers its own of), and the test tools a test starts by themselves. A type is not one just
    /// because it has a public constructor or a static instance: a record nothing accepts is of no use either way.
    /// </summary>
    private static readonly Type[] OtherEntryPoints =
    [
        typeof(MeshStatus), typeof(MeshRandom),
        typeof(XdsTestServer), typeof(TestCertificateAuthority),
    ];

    public static TheoryData<string> Packages() => new(PackageAssemblies().Select(a => a.GetName().Name!));

    [Theory]
    [MemberData(nameof(Packages))]
    public void EveryPublicType_IsReachableFromAnEntryPoint(string package)
    {
        var exported = PackageAssemblies().SelectMany(a => a.GetExportedTypes()).ToHashSet();
        var reached = new HashSet<Type>();
        var pending = new Queue<Type>(exported.Where(IsEntryPoint));
        while (pending.TryDequeue(out var type))
        {
            if (!reached.Add(type))
            {
                continue;
            }

            foreach (var used in SignatureTypes(type).Where(exported.Contains))
            {
                pending.Enqueue(used);
            }
        }

        var unreachable = exported
            .Where(t => t.Assembly.GetName().Name == package && !reached.Contains(t))
            .Select(t => t.FullName)
            .Order(StringComparer.Ordinal);
        Assert.Empty(unreachable);
    }

    private static Assembly[] PackageAssemblies() =>
        [typeof(MeshOptions).Assembly, typeof(XdsTestServer).Assembly, typeof(MeshStatusEndpointRouteBuilderExtensions).Assembly];

    private static bool IsEntryPoint(Type type) =>
        (type.IsAbstract && type.IsSealed) || typeof(Exception).IsAssignableFrom(type) || OtherEntryPoints.Contains(type);

    /// <summary>The types a user meets through <paramref name="type"/>: its base, interfaces and the signatures of its public and protected members.</summary>
    private static IEnumerable<Type> SignatureTypes(Type type)
    {
        var direct = new List<Type?> { type.BaseType };
        direct.AddRange(type.GetInterfaces());
        direct.AddRange(type.GetNestedTypes(BindingFlags.Public));
        foreach (var member in type.GetMembers(Declared))
        {
            switch (member)
            {
                case MethodBase method when method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly:
                    direct.AddRange(method.GetParameters().Select(p => p.ParameterType));
                    if (method is MethodInfo info)
                    {
                        direct.Add(info.ReturnType);
                    }

                    break;
                case PropertyInfo property when property.GetAccessors().Length > 0:
                    direct.Add(property.PropertyType);
                    break;
                case FieldInfo field when field.IsPublic || field.IsFamily:
                    direct.Add(field.FieldType);
                    break;
                case EventInfo @event when @event.AddMethod is { IsPublic: true }:
                    direct.Add(@event.EventHandlerType);
                    break;
            }
        }

        return direct.SelectMany(Unwrap);
    }

    /// <summary>A signature's type and what it is made of: element types of arrays and by-refs, generic arguments.</summary>
    private static IEnumerable<Type> Unwrap(Type? type)
    {
        if (type is null || type.IsGenericParameter)
        {
            yield break;
        }

        if (type.HasElementType)
        {
            foreach (var element in Unwrap(type.GetElementType()))
            {
                yield return element;
            }

            yield break;
        }

        if (type.IsConstructedGenericType)
        {
            foreach (var argument in type.GetGenericArguments().SelectMany(Unwrap))
            {
                yield return argument;
            }

            type = type.GetGenericTypeDefinition();
        }

        yield return type;
    }
}
