using System.Globalization;

namespace Mesh.Client.Configuration.Internal;

/// <summary>Durations as configuration writes them: <c>250ms</c>, <c>1.5s</c>, <c>2m</c>, <c>1h</c>, or a .NET <c>00:00:02</c>.</summary>
internal static class MeshDurations
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        var value = text.Trim();
        duration = default;
        (string Suffix, double Scale)[] units = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, scale) in units)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal) &&
                double.TryParse(value.AsSpan(0, value.Length - suffix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) &&
                !(suffix == "m" && value.EndsWith("ms", StringComparison.Ordinal)))
            {
                if (number < 0 || double.IsNaN(number) || number * scale > TimeSpan.MaxValue.TotalSeconds)
                {
                    return false;
                }

                duration = TimeSpan.FromSeconds(number * scale);
                return true;
            }
        }

        return TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;
    }
}
