using System.Globalization;
using Mesh.Client.Model;
using Microsoft.Extensions.Configuration;

namespace Mesh.Client.Configuration.Internal;

// The value readers: each reports a value it cannot read with its configuration path and keeps the fallback.
internal static partial class MeshConfigurationReader
{
    private static void CheckKeys(IConfigurationSection section, string[] known, List<MeshConfigurationError> errors)
    {
        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add(new MeshConfigurationError(child.Path, child.Value, $"unknown setting '{child.Key}'; expected one of {string.Join(", ", known)}{Spelling.DidYouMean(child.Key, known)}"));
            }
        }
    }

    private static int ReadInt(IConfigurationSection section, string key, int fallback, List<MeshConfigurationError> errors) =>
        ReadNumber(section, key, fallback, errors);

    private static long ReadLong(IConfigurationSection section, string key, long fallback, List<MeshConfigurationError> errors) =>
        ReadNumber(section, key, fallback, errors);

    private static T ReadNumber<T>(IConfigurationSection section, string key, T fallback, List<MeshConfigurationError> errors)
        where T : struct, System.Numerics.IBinaryInteger<T>
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }

        if (T.TryParse(raw, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, "not a whole number"));
        return fallback;
    }

    private static TimeSpan ReadTimeSpan(IConfigurationSection section, string key, TimeSpan fallback, List<MeshConfigurationError> errors) =>
        ReadOptionalTimeSpan(section, key, errors) ?? fallback;

    private static TimeSpan? ReadOptionalTimeSpan(IConfigurationSection section, string key, List<MeshConfigurationError> errors)
    {
        var raw = section[key];
        if (raw is null)
        {
            return null;
        }

        if (MeshDurations.TryParse(raw, out var duration))
        {
            return duration;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, "not a duration; write \"250ms\", \"15s\", \"2m\" or \"00:00:15\""));
        return null;
    }

    private static double ReadDouble(IConfigurationSection section, string key, double fallback, List<MeshConfigurationError> errors)
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }

        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, "not a number"));
        return fallback;
    }

    private static bool ReadBool(IConfigurationSection section, string key, bool fallback, List<MeshConfigurationError> errors)
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }

        if (bool.TryParse(raw.Trim(), out var value))
        {
            return value;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, "not true or false"));
        return fallback;
    }

    private static TEnum ReadEnum<TEnum>(IConfigurationSection section, string key, TEnum fallback, List<MeshConfigurationError> errors)
        where TEnum : struct, Enum
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }

        if (!int.TryParse(raw, out _) && Enum.TryParse<TEnum>(raw.Trim(), ignoreCase: true, out var value) && Enum.IsDefined(value))
        {
            return value;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, $"expected one of {string.Join(", ", Enum.GetNames<TEnum>())}"));
        return fallback;
    }

    private static EndpointHealth ReadHealth(IConfigurationSection section, string key, EndpointHealth fallback, List<MeshConfigurationError> errors)
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }

        // Accept both the .NET spelling (Healthy) and xDS's (HEALTHY).
        if (Enum.TryParse<EndpointHealth>(raw.Trim(), ignoreCase: true, out var value) && Enum.IsDefined(value) && !int.TryParse(raw, out _))
        {
            return value;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, $"unknown health; expected one of {string.Join(", ", Enum.GetNames<EndpointHealth>())}"));
        return fallback;
    }
}
