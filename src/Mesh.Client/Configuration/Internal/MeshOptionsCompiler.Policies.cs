using System.Globalization;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;

namespace Mesh.Client.Configuration.Internal;

// Request policies: timeouts, retries, hedging and faults, each a route's own or its service's.
internal static partial class MeshOptionsCompiler
{
    /// <summary>Adds a route's request policies, each its own or else its service's.</summary>
    private static MeshRoute ApplyPolicies(MeshRoute model, MeshRouteOptions? route, MeshServiceOptions service, string routePath, string servicePath, List<MeshConfigurationError> errors)
    {
        T? Pick<T>(Func<MeshRequestPolicyOptions, T?> get, out string at)
            where T : class
        {
            if (route is not null && get(route) is { } own)
            {
                at = routePath;
                return own;
            }

            at = servicePath;
            return get(service);
        }

        TimeSpan? PickTime(Func<MeshRequestPolicyOptions, TimeSpan?> get, string key)
        {
            var (value, at) = route is not null && get(route) is { } own ? (own, routePath) : (get(service), servicePath);
            if (value is { } v && v <= TimeSpan.Zero)
            {
                errors.Add(new($"{at}:{key}", v.ToString(), "must be positive"));
                return null;
            }

            return value;
        }

        // A route that sets either retries or hedging sets both: the service's other one does not apply to it.
        var ownResilience = route is not null && (route.Retry is not null || route.Hedging is not null);
        var retryOptions = ownResilience ? route!.Retry : service.Retry;
        var hedgingOptions = ownResilience ? route!.Hedging : service.Hedging;
        var resiliencePath = ownResilience ? routePath : servicePath;
        if (retryOptions is not null && hedgingOptions is not null)
        {
            errors.Add(new(resiliencePath, null, "set Retry or Hedging, not both"));
        }

        var fault = Pick(p => p.Fault, out var faultPath);
        return model with
        {
            Timeout = PickTime(p => p.Timeout, "Timeout"),
            MaxStreamDuration = PickTime(p => p.MaxStreamDuration, "MaxStreamDuration"),
            GrpcTimeoutHeaderMax = PickTime(p => p.GrpcTimeoutHeaderMax, "GrpcTimeoutHeaderMax"),
            Retry = retryOptions is null ? null : CompileRetry(retryOptions, resiliencePath + ":Retry", errors),
            Hedging = hedgingOptions is null ? null : CompileHedging(hedgingOptions, resiliencePath + ":Hedging", errors),
            Fault = fault is null ? null : CompileFault(fault, faultPath + ":Fault", errors),
        };
    }

    private static RetryPolicy CompileRetry(MeshRetryOptions options, string path, List<MeshConfigurationError> errors)
    {
        var retryOn = RetryOn.None;
        foreach (var token in options.RetryOn.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (RetryOnNames.TryGet(token, StringComparison.OrdinalIgnoreCase, out var flag))
            {
                retryOn |= flag;
            }
            else
            {
                errors.Add(new(path + ":RetryOn", options.RetryOn, $"unknown condition '{token}'; expected some of {string.Join(", ", RetryOnNames.All)}"));
            }
        }

        if (options.NumRetries is < 0 or > 10)
        {
            errors.Add(new(path + ":NumRetries", Invariant(options.NumRetries), "must be between 0 and 10"));
        }

        if (options.BaseInterval <= TimeSpan.Zero)
        {
            errors.Add(new(path + ":BaseInterval", options.BaseInterval.ToString(), "must be positive"));
        }

        if (options.MaxInterval is { } max && max < options.BaseInterval)
        {
            errors.Add(new(path + ":MaxInterval", max.ToString(), $"must not be less than BaseInterval ({options.BaseInterval})"));
        }

        if (options.PerTryTimeout is { } perTry && perTry <= TimeSpan.Zero)
        {
            errors.Add(new(path + ":PerTryTimeout", perTry.ToString(), "must be positive"));
        }

        foreach (var code in options.RetriableStatusCodes)
        {
            if (!ModelRules.IsHttpStatus(code))
            {
                errors.Add(new(path + ":RetriableStatusCodes", Invariant(code), "must be an HTTP status between 100 and 599"));
            }
        }

        if (options.RetriableStatusCodes.Count > 0)
        {
            retryOn |= RetryOn.RetriableStatusCodes;
        }

        return new RetryPolicy
        {
            RetryOn = retryOn,
            NumRetries = Math.Clamp(options.NumRetries, 0, 10),
            BaseInterval = options.BaseInterval,
            MaxInterval = options.MaxInterval,
            PerTryTimeout = options.PerTryTimeout,
            RetriableStatusCodes = [.. options.RetriableStatusCodes],
            RetryNonIdempotent = options.RetryNonIdempotent,
        };
    }

    private static HedgingPolicy CompileHedging(MeshHedgingOptions options, string path, List<MeshConfigurationError> errors)
    {
        if (options.MaxHedgedAttempts is < 1 or > 10)
        {
            errors.Add(new(path + ":MaxHedgedAttempts", Invariant(options.MaxHedgedAttempts), "must be between 1 and 10"));
        }

        if (options.Delay < TimeSpan.Zero)
        {
            errors.Add(new(path + ":Delay", options.Delay.ToString(), "must not be negative"));
        }

        return new HedgingPolicy { MaxHedgedAttempts = Math.Clamp(options.MaxHedgedAttempts, 1, 10), Delay = options.Delay };
    }

    private static FaultPolicy CompileFault(MeshFaultOptions options, string path, List<MeshConfigurationError> errors)
    {
        uint PerMillion(double percentage, string at)
        {
            if (percentage is < 0 or > 100 || double.IsNaN(percentage))
            {
                errors.Add(new(at, percentage.ToString(CultureInfo.InvariantCulture), "must be between 0 and 100"));
                return 0;
            }

            return (uint)Math.Round(percentage * 10_000);
        }

        FaultDelay? delay = null;
        if (options.Delay is { } d)
        {
            if (d.Fixed is null && !d.FromHeader)
            {
                errors.Add(new(path + ":Delay", null, "set Fixed or FromHeader"));
            }

            delay = new FaultDelay { FixedDelay = d.Fixed, FromHeader = d.FromHeader, PerMillion = PerMillion(d.Percentage, path + ":Delay:Percentage") };
        }

        FaultAbort? abort = null;
        if (options.Abort is { } a)
        {
            if (a.HttpStatus is null && a.GrpcStatus is null && !a.FromHeader)
            {
                errors.Add(new(path + ":Abort", null, "set HttpStatus, GrpcStatus or FromHeader"));
            }

            if (a.HttpStatus is { } http && http is < 200 or > 599)
            {
                errors.Add(new(path + ":Abort:HttpStatus", Invariant(http), "must be between 200 and 599"));
            }

            if (a.GrpcStatus is { } grpc && !ModelRules.IsGrpcStatus(grpc))
            {
                errors.Add(new(path + ":Abort:GrpcStatus", Invariant(grpc), "must be a gRPC status code between 0 and 16"));
            }

            abort = new FaultAbort { HttpStatus = a.HttpStatus, GrpcStatus = a.GrpcStatus, FromHeader = a.FromHeader, PerMillion = PerMillion(a.Percentage, path + ":Abort:Percentage") };
        }

        if (options.MaxActiveFaults is < 0)
        {
            errors.Add(new(path + ":MaxActiveFaults", Invariant(options.MaxActiveFaults.Value), "must be 0 or more"));
        }

        return new FaultPolicy { Delay = delay, Abort = abort, MaxActiveFaults = options.MaxActiveFaults is { } m and >= 0 ? (uint)m : null };
    }
}
