namespace Mesh.Client.Xds.Internal;

/// <summary>How far a watched name has got.</summary>
internal enum XdsTargetState
{
    /// <summary>Its whole configuration arrived.</summary>
    Configured,

    /// <summary>Its configuration arrived, but some of its routes or clusters fail (missing, rejected or unreachable).</summary>
    PartlyFailed,

    /// <summary>Nothing complete yet, and nothing has failed.</summary>
    Waiting,

    /// <summary>The control plane says its Listener does not exist.</summary>
    DoesNotExist,

    /// <summary>No configuration: the control plane could not be reached, or rejected what it sent, with nothing cached.</summary>
    Failed,
}

/// <summary>One name the xDS source was asked for, and what it has for it.</summary>
internal sealed record XdsTargetStatus(string Name, string? ListenerName, XdsTargetState State, string? Reason, DateTimeOffset? WatchedAt);

/// <summary>What the <c>mesh</c> health check reads of the xDS source.</summary>
internal sealed partial class XdsMeshSource
{
    /// <summary>Every name watched so far and its state, taken on the xDS client's serializer.</summary>
    public Task<IReadOnlyList<XdsTargetStatus>> GetTargetsAsync(CancellationToken cancellationToken)
    {
        var result = new TaskCompletionSource<IReadOnlyList<XdsTargetStatus>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _client.Post(() => result.TrySetResult([.. _targets.Values.Select(StatusOf), .. _failures.Select(f =>
            new XdsTargetStatus(f.Key, null, f.Value.DoesNotExist ? XdsTargetState.DoesNotExist : XdsTargetState.Failed, f.Value.Message, null))]));
        return result.Task.WaitAsync(cancellationToken);
    }

    private static XdsTargetStatus StatusOf(XdsTargetWatcher target)
    {
        if (target.Service is { } service)
        {
            // A route or cluster that fails fails every request it takes: the name is only partly configured.
            var problems = service.Routes.Where(r => r.ErrorMessage is not null).Select(r => r.ErrorMessage!)
                .Concat(target.Clusters.Values.Where(c => c.ErrorMessage is not null).Select(c => c.ErrorMessage!))
                .Distinct(StringComparer.Ordinal)
                .ToArray();
            return problems.Length == 0
                ? new XdsTargetStatus(target.Target, target.ListenerName, XdsTargetState.Configured, null, target.WatchedAt)
                : new XdsTargetStatus(target.Target, target.ListenerName, XdsTargetState.PartlyFailed, string.Join("; ", problems), target.WatchedAt);
        }

        return target.Failure is { } failure
            ? new XdsTargetStatus(target.Target, target.ListenerName, failure.DoesNotExist ? XdsTargetState.DoesNotExist : XdsTargetState.Failed, failure.Message, target.WatchedAt)
            : new XdsTargetStatus(target.Target, target.ListenerName, XdsTargetState.Waiting, null, target.WatchedAt);
    }
}
