namespace Mesh.Client.Model;

/// <summary>Outlier detection settings (gRFC A50, Envoy's <c>OutlierDetection</c>).</summary>
internal sealed record OutlierDetectionPolicy
{
    /// <summary>How often endpoints are judged (default 10 s).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Ejection time, multiplied by how many times the endpoint has been ejected in a row (default 30 s).</summary>
    public TimeSpan BaseEjectionTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest an ejection lasts (default 300 s, or <see cref="BaseEjectionTime"/> when that is longer).</summary>
    public TimeSpan MaxEjectionTime { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>At most this percentage of the cluster's endpoints are ejected at once (default 10).</summary>
    public uint MaxEjectionPercent { get; init; } = 10;

    /// <summary>Eject endpoints whose success rate is far below the cluster's mean; off when null.</summary>
    public SuccessRateEjection? SuccessRate { get; init; }

    /// <summary>Eject endpoints whose failure percentage exceeds a threshold; off when null.</summary>
    public FailurePercentageEjection? FailurePercentage { get; init; }
}

/// <summary>Success-rate ejection: below mean − stdev × <see cref="StdevFactor"/>/1000.</summary>
internal sealed record SuccessRateEjection
{
    /// <summary>Standard deviation factor, in thousandths (default 1900 = 1.9).</summary>
    public uint StdevFactor { get; init; } = 1900;

    /// <summary>Chance, in percent, that a detected outlier is ejected (default 100).</summary>
    public uint EnforcementPercentage { get; init; } = 100;

    /// <summary>Endpoints with enough requests needed for the check to run (default 5).</summary>
    public uint MinimumHosts { get; init; } = 5;

    /// <summary>Requests an endpoint needs in an interval to be judged (default 100).</summary>
    public uint RequestVolume { get; init; } = 100;
}

/// <summary>Failure-percentage ejection: above <see cref="Threshold"/> percent failures.</summary>
internal sealed record FailurePercentageEjection
{
    /// <summary>Failure percentage above which an endpoint is an outlier (default 85).</summary>
    public uint Threshold { get; init; } = 85;

    /// <summary>Chance, in percent, that a detected outlier is ejected (default 100 when configured).</summary>
    public uint EnforcementPercentage { get; init; } = 100;

    /// <summary>Endpoints with enough requests needed for the check to run (default 5).</summary>
    public uint MinimumHosts { get; init; } = 5;

    /// <summary>Requests an endpoint needs in an interval to be judged (default 50).</summary>
    public uint RequestVolume { get; init; } = 50;
}
