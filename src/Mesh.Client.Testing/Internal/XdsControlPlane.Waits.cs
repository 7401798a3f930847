using System.Globalization;
using System.Text;

namespace Mesh.Client.Testing.Internal;

internal sealed partial class XdsControlPlane
{
    private const int HistoryInTimeoutMessages = 40;

    /// <summary>
    /// Completes with the first request, already received or still to come, that matches <paramref name="predicate"/>.
    /// </summary>
    public async Task<XdsRequestRecord> WaitAsync(Func<XdsRequestRecord, bool> predicate, string what, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var client in _clients)
            {
                foreach (var record in client.Requests)
                {
                    if (predicate(record))
                    {
                        return record;
                    }
                }
            }

            waiter = new Waiter(predicate);
            _waiters.Add(waiter);
        }

        try
        {
            return await waiter.Completion.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(
                $"Timed out after {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s waiting for {what}. {DescribeHistory()}", ex);
        }
        finally
        {
            lock (_lock)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    private string DescribeHistory()
    {
        lock (_lock)
        {
            var records = _clients.SelectMany(c => c.Requests).ToList();
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"{_clients.Count} stream(s) so far, {_streams.Count} open; versions: ");
            text.AppendJoin(", ", _versions.Select(v => $"{v.Key[(v.Key.LastIndexOf('.') + 1)..]}={v.Value}"));
            text.Append(CultureInfo.InvariantCulture, $"; {records.Count} request(s) received");
            if (records.Count > HistoryInTimeoutMessages)
            {
                text.Append(CultureInfo.InvariantCulture, $", the last {HistoryInTimeoutMessages}");
            }

            text.Append(':');
            foreach (var record in records.TakeLast(HistoryInTimeoutMessages))
            {
                text.AppendLine().Append("  ").Append(record);
            }

            return text.ToString();
        }
    }

    private sealed class Waiter(Func<XdsRequestRecord, bool> predicate)
    {
        public Func<XdsRequestRecord, bool> Predicate { get; } = predicate;

        public TaskCompletionSource<XdsRequestRecord> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
