using Mesh.Client.Model;
using Microsoft.Extensions.Primitives;

namespace Mesh.Client.Runtime.Internal;

/// <summary>
/// Holds the table the request path reads and publishes new ones: each source (appsettings.json, the xDS
/// client) hands over its whole configuration, the <see cref="MeshTableCompiler"/> compiles it and merges the
/// sources' shares, and the result becomes the table in force in one reference swap. Publication is
/// serialised; readers never lock.
/// </summary>
internal sealed class MeshTableStore
{
    /// <summary>The name of the appsettings.json source, which wins name clashes with other sources.</summary>
    public const string ConfigurationSource = "appsettings";

    private readonly MeshTableCompiler _compiler;
    private readonly Lock _publishLock = new();
    private readonly Dictionary<string, CompiledSource> _sources = new(StringComparer.Ordinal);
    private readonly Lock _subscribersLock = new();
    private MeshTable _table = MeshTable.Empty;
    private Action<MeshTable>[] _subscribers = [];
    private CancellationTokenSource _changeSource = new();

    public MeshTableStore(MeshTableCompiler compiler)
    {
        _compiler = compiler;
    }

    /// <summary>The table in force. One volatile read.</summary>
    public MeshTable Current => Volatile.Read(ref _table);

    /// <summary>The compiler, and through it the runtime's TLS numbering (for tests and status pages).</summary>
    public MeshTableCompiler Compiler => _compiler;

    /// <summary>
    /// Waits until the table knows <paramref name="name"/> (a service, or a failure) or <paramref name="timeout"/>
    /// passes. Returns the table that knows it, or <see langword="null"/> on timeout.
    /// </summary>
    public async Task<MeshTable?> WaitForNameAsync(string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var table = Current;
        if (table.Knows(name))
        {
            return table;
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        while (true)
        {
            // Take the token before reading the table, so that a publication in between is not missed.
            var token = Volatile.Read(ref _changeSource).Token;
            table = Current;
            if (table.Knows(name))
            {
                return table;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, timeoutSource.Token);
            try
            {
                await Task.Delay(Timeout.Infinite, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (timeoutSource.IsCancellationRequested)
                {
                    return Current.Knows(name) ? Current : null;
                }
            }
        }
    }

    /// <summary>A token that fires when the next table is published.</summary>
    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changeSource).Token);

    /// <summary>Calls <paramref name="subscriber"/> with every table published from now on.</summary>
    /// <remarks>
    /// Subscribers are called after the swap and outside every lock of the store, so they may call into
    /// code that holds its own locks. Two publications that race may reach a subscriber out of order; a
    /// subscriber that cares compares <see cref="MeshTable.Generation"/> or reads <see cref="Current"/>.
    /// </remarks>
    public IDisposable Subscribe(Action<MeshTable> subscriber)
    {
        lock (_subscribersLock)
        {
            _subscribers = [.. _subscribers, subscriber];
        }

        return new Subscription(this, subscriber);
    }

    /// <summary>Compiles <paramref name="snapshot"/> as the whole configuration of its source (<see cref="MeshSnapshot.Source"/>) and makes the merged result the table in force.</summary>
    public MeshTable Publish(MeshSnapshot snapshot) => Publish(snapshot.Source, snapshot);

    /// <summary>
    /// Replaces the configuration of one source and publishes the merged table. Services of several
    /// sources are merged by name, the <c>appsettings</c> source first (local configuration overrides the
    /// control plane); each source's routes only ever reach that source's clusters.
    /// </summary>
    public MeshTable Publish(string source, MeshSnapshot snapshot)
    {
        MeshTable table;
        CancellationTokenSource previousSource;
        lock (_publishLock)
        {
            _sources.TryGetValue(source, out var previous);
            _sources[source] = _compiler.Compile(source, snapshot, previous);
            table = MeshTableCompiler.Merge(_sources, _table.Generation + 1);
            Volatile.Write(ref _table, table);
            _compiler.Prune(_sources.Values);

            previousSource = _changeSource;
            Volatile.Write(ref _changeSource, new CancellationTokenSource());
        }

        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber(table);
        }

        previousSource.Cancel();
        previousSource.Dispose();
        return table;
    }

    private void Unsubscribe(Action<MeshTable> subscriber)
    {
        lock (_subscribersLock)
        {
            _subscribers = [.. _subscribers.Where(s => s != subscriber)];
        }
    }

    private sealed class Subscription(MeshTableStore store, Action<MeshTable> subscriber) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                store.Unsubscribe(subscriber);
            }
        }
    }
}
