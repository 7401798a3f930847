using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Balancing.Internal;

/// <summary>
/// Outlier detection for one cluster (gRFC A50): every interval it takes the outcomes the front doors
/// counted per endpoint, ejects endpoints whose success rate is far below the others' or whose failure
/// percentage is too high (never more than the allowed share of the cluster), and returns ejected
/// endpoints once their ejection time — base time × times ejected in a row, capped — has passed.
/// Changes are handed to the cluster's state (<see cref="ClusterState.NotifyEndpointsChanged"/>), which rebuilds that
/// cluster's pickers only; no table is published.
/// </summary>
internal sealed class OutlierDetector : IDisposable
{
    private readonly TimeProvider _time;
    private readonly MeshRandom _random;
    private readonly Action _onEjectionsChanged;
    private readonly Lock _lock = new();
    private OutlierDetectionPolicy _policy;
    private EndpointState[] _endpoints = [];
    private ITimer? _timer;
    private bool _disposed;

    private readonly ClusterState? _state;

    public OutlierDetector(OutlierDetectionPolicy policy, TimeProvider time, MeshRandom random, Action onEjectionsChanged, ClusterState? state = null)
    {
        _policy = policy;
        _time = time;
        _random = random;
        _onEjectionsChanged = onEjectionsChanged;
        _state = state;
        _timer = _time.CreateTimer(_ => RunInterval(), null, policy.Interval, policy.Interval);
    }

    public OutlierDetectionPolicy Policy
    {
        get
        {
            lock (_lock)
            {
                return _policy;
            }
        }
    }

    /// <summary>Takes a new configuration of the cluster: its policy and its current endpoints.</summary>
    public void Update(OutlierDetectionPolicy policy, EndpointState[] endpoints)
    {
        lock (_lock)
        {
            if (_policy.Interval != policy.Interval)
            {
                _timer?.Change(policy.Interval, policy.Interval);
            }

            _policy = policy;
            _endpoints = endpoints;
        }
    }

    /// <summary>One interval's work; the timer calls it, tests may too.</summary>
    public void RunInterval()
    {
        bool changed;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            changed = Evaluate(_time.GetUtcNow());
        }

        if (changed)
        {
            _onEjectionsChanged();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;

            // Without outlier detection nothing stays ejected.
            foreach (var endpoint in _endpoints)
            {
                endpoint.Uneject();
                endpoint.EjectionMultiplier = 0;
            }
        }
    }

    private bool Evaluate(DateTimeOffset now)
    {
        var policy = _policy;
        var endpoints = _endpoints;
        var outcomes = new (long Successes, long Failures)[endpoints.Length];
        for (var i = 0; i < endpoints.Length; i++)
        {
            outcomes[i] = endpoints[i].TakeOutcomes();
        }

        var changed = false;
        if (policy.SuccessRate is { } successRate)
        {
            changed |= SuccessRatePass(policy, successRate, endpoints, outcomes, now);
        }

        if (policy.FailurePercentage is { } failurePercentage)
        {
            changed |= FailurePercentagePass(policy, failurePercentage, endpoints, outcomes, now);
        }

        // Return endpoints whose time is up; an endpoint not ejected now forgets one earlier ejection.
        for (var i = 0; i < endpoints.Length; i++)
        {
            var endpoint = endpoints[i];
            if (endpoint.IsEjected)
            {
                var cap = policy.MaxEjectionTime > policy.BaseEjectionTime ? policy.MaxEjectionTime : policy.BaseEjectionTime;
                var duration = policy.BaseEjectionTime * endpoint.EjectionMultiplier;
                if (duration > cap)
                {
                    duration = cap;
                }

                if (now >= endpoint.EjectedAt + duration)
                {
                    endpoint.Uneject();
                    changed = true;
                }
            }
            else if (endpoint.EjectionMultiplier > 0)
            {
                endpoint.EjectionMultiplier--;
            }
        }

        return changed;
    }

    private bool SuccessRatePass(OutlierDetectionPolicy policy, SuccessRateEjection config, EndpointState[] endpoints, (long Successes, long Failures)[] outcomes, DateTimeOffset now)
    {
        var rates = new List<(int Index, double Rate)>();
        for (var i = 0; i < endpoints.Length; i++)
        {
            var volume = outcomes[i].Successes + outcomes[i].Failures;
            if (volume >= config.RequestVolume && volume > 0)
            {
                rates.Add((i, outcomes[i].Successes / (double)volume));
            }
        }

        if (rates.Count < config.MinimumHosts || rates.Count == 0)
        {
            return false;
        }

        var mean = rates.Average(r => r.Rate);
        var variance = rates.Average(r => (r.Rate - mean) * (r.Rate - mean));
        var threshold = mean - (Math.Sqrt(variance) * (config.StdevFactor / 1000.0));
        var changed = false;
        foreach (var (index, rate) in rates)
        {
            if (rate < threshold && TryEject(policy, endpoints, index, config.EnforcementPercentage, now))
            {
                changed = true;
            }
        }

        return changed;
    }

    private bool FailurePercentagePass(OutlierDetectionPolicy policy, FailurePercentageEjection config, EndpointState[] endpoints, (long Successes, long Failures)[] outcomes, DateTimeOffset now)
    {
        var candidates = new List<(int Index, double Percent)>();
        for (var i = 0; i < endpoints.Length; i++)
        {
            var volume = outcomes[i].Successes + outcomes[i].Failures;
            if (volume >= config.RequestVolume && volume > 0)
            {
                candidates.Add((i, 100.0 * outcomes[i].Failures / volume));
            }
        }

        if (candidates.Count < config.MinimumHosts)
        {
            return false;
        }

        var changed = false;
        foreach (var (index, percent) in candidates)
        {
            if (percent > config.Threshold && TryEject(policy, endpoints, index, config.EnforcementPercentage, now))
            {
                changed = true;
            }
        }

        return changed;
    }

    private bool TryEject(OutlierDetectionPolicy policy, EndpointState[] endpoints, int index, uint enforcementPercentage, DateTimeOffset now)
    {
        var endpoint = endpoints[index];
        if (endpoint.IsEjected)
        {
            return false;
        }

        // Never eject past the allowed share of the cluster.
        var ejected = endpoints.Count(e => e.IsEjected);
        if (ejected * 100L >= policy.MaxEjectionPercent * (long)endpoints.Length)
        {
            return false;
        }

        if (_random.NextInt64(100) >= enforcementPercentage)
        {
            return false;
        }

        endpoint.Eject(now);
        _state?.CountEjection();
        return true;
    }
}
