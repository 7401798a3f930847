using System.Collections.Concurrent;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Runs actions one at a time, in the order they were handed in, on whichever thread hands one in while
/// no other is running them. The xDS client keeps all of its state on it, so that state needs no locks
/// and callbacks may hand in more work without re-entering.
/// </summary>
internal sealed class WorkSerializer(Action<Exception> onError)
{
    private readonly ConcurrentQueue<Action> _queue = new();
    private int _draining;

    public void Run(Action action)
    {
        _queue.Enqueue(action);
        Drain();
    }

    private void Drain()
    {
        while (true)
        {
            if (Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            {
                // Another thread is draining; it will run the action.
                return;
            }

            while (_queue.TryDequeue(out var action))
            {
                try
                {
                    action();
                }
                catch (Exception ex)
                {
                    onError(ex);
                }
            }

            Volatile.Write(ref _draining, 0);
            if (_queue.IsEmpty)
            {
                return;
            }
        }
    }
}
