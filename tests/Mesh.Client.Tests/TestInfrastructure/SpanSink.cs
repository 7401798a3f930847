using System.Collections.ObjectModel;
using System.Diagnostics;

namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>
/// Where an OpenTelemetry in-memory exporter puts spans, readable while spans keep arriving: tests run in
/// parallel, and a provider listening to the mesh's source also receives other tests' spans.
/// </summary>
internal sealed class SpanSink : Collection<Activity>
{
    public List<Activity> Snapshot()
    {
        lock (this)
        {
            return [.. this];
        }
    }

    protected override void InsertItem(int index, Activity item)
    {
        lock (this)
        {
            base.InsertItem(index, item);
        }
    }
}
