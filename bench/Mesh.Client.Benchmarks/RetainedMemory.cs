using System.Globalization;
using System.Runtime.CompilerServices;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Xds.Internal;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// <c>--retained</c>: the memory an applied EDS update keeps alive, per endpoint. Not an allocation rate:
/// the live heap after a full collection, with and without the update.
/// </summary>
/// <remarks>
/// Counted: what the client holds for as long as the update is in force — the resource's <see cref="Any"/>
/// (the xDS client keeps the raw resource to detect unchanged ones), the decoded
/// <see cref="XdsEndpointUpdate"/> (priorities, localities, <see cref="MeshEndpoint"/>s and their host
/// strings), the <see cref="MeshCluster"/> the target watcher builds, and everything
/// <see cref="MeshTableStore.Publish(MeshSnapshot)"/> builds and keeps: the source's compiled table, the
/// <see cref="MeshTable"/> in force, the cluster runtime with one <c>EndpointState</c> per endpoint (address
/// and URL prefix strings) and its picker. Not counted: the serialised bytes the resource arrived in (the
/// gRPC message buffer, dropped once parsed) and everything transient of decoding and publishing.
/// </remarks>
internal static class RetainedMemory
{
    private const int Localities = 10;
    private const int Repeats = 3;

    public static int Run()
    {
        Console.WriteLine("Retained memory of an applied EDS update (GC.GetTotalMemory(true) after - before).");
        Console.WriteLine(FormattableString.Invariant($".NET {Environment.Version}, server GC: {System.Runtime.GCSettings.IsServerGC}, {Environment.ProcessorCount} cores; {Localities} localities, one priority; median of {Repeats}."));
        Console.WriteLine();

        // Everything that is allocated once per process (protobuf descriptors, JIT-ed code's statics,
        // frozen-dictionary helpers) is allocated here, outside the measurements.
        foreach (var policy in System.Enum.GetValues<UpdatePolicy>())
        {
            Measure(policy, 1_000, updates: 2);
            Measure(policy, 0, updates: 1);
        }

        Console.WriteLine("| Policy | Endpoints | empty runtime + raw Any | + decoded update | + published (cluster, runtime, picker) | Total kept | Per endpoint | Per endpoint over the 0-endpoint baseline |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var policy in System.Enum.GetValues<UpdatePolicy>())
        {
            var baseline = Median(policy, 0, updates: 1);
            foreach (var endpoints in new[] { 0, 1_000, 10_000 })
            {
                var m = endpoints == 0 ? baseline : Median(policy, endpoints, updates: 1);
                Print(policy, endpoints.ToString("N0", CultureInfo.InvariantCulture), m, endpoints, baseline);
            }

            // A second update that replaces every endpoint: what the first one kept must be gone.
            var twice = Median(policy, 10_000, updates: 2);
            Print(policy, "10,000 after A then B", twice, 10_000, baseline);
        }

        Console.WriteLine();
        Console.WriteLine("empty runtime + raw Any: a new MeshRuntime and the resource as the xDS client keeps it. decoded update: the XdsEndpointUpdate model.");
        Console.WriteLine("published: MeshCluster, snapshot, compiled source table, MeshTable, ClusterRuntime, EndpointStates, picker.");
        return 0;
    }

    private static void Print(UpdatePolicy policy, string label, Kept m, int endpoints, Kept baseline)
    {
        var perEndpoint = endpoints == 0 ? "–" : (m.Total / (double)endpoints).ToString("N0", CultureInfo.InvariantCulture) + " B";
        var overBaseline = endpoints == 0 ? "–" : ((m.Total - baseline.Total) / (double)endpoints).ToString("N0", CultureInfo.InvariantCulture) + " B";
        var steps = m.Steps
            ? FormattableString.Invariant($"{m.Raw:N0} B | {m.Update:N0} B | {m.Published:N0} B")
            : "– | – | –";
        Console.WriteLine(FormattableString.Invariant(
            $"| {Name(policy)} | {label} | {steps} | {m.Total:N0} B | {perEndpoint} | {overBaseline} |"));
    }

    private static Kept Median(UpdatePolicy policy, int endpoints, int updates)
    {
        var runs = new Kept[Repeats];
        for (var i = 0; i < runs.Length; i++)
        {
            runs[i] = Measure(policy, endpoints, updates);
        }

        Array.Sort(runs, (a, b) => a.Total.CompareTo(b.Total));
        return runs[Repeats / 2];
    }

    /// <summary>
    /// Applies <paramref name="updates"/> versions of a <paramref name="endpoints"/>-endpoint resource in
    /// turn (A, then B with other ports, ...) to a new runtime, and measures what the last one keeps, step
    /// by step. The serialised resources are built before the first measurement and so cancel out.
    /// </summary>
    private static Kept Measure(UpdatePolicy policy, int endpoints, int updates)
    {
        var perLocality = endpoints / Localities;
        byte[][] bytes =
        [
            EdsUpdateFixture.AnyBytes(EdsUpdateFixture.Assignment(Localities, perLocality, port: 8080)),
            EdsUpdateFixture.AnyBytes(EdsUpdateFixture.Assignment(Localities, perLocality, port: 8081)),
        ];
        var policyModel = EdsUpdateFixture.Policy(policy);
        var before = LiveBytes();
        var runtime = new MeshRuntime(MeshRandom.Shared);

        // All but the last update: the client drops them (raw resource and model) when the next arrives,
        // and the runtime must let go of what it built for them. The steps below are then not the last
        // update's alone; only the total is.
        for (var i = 0; i < updates - 1; i++)
        {
            ApplyAndDrop(runtime, bytes[i % 2], policyModel);
        }

        var last = bytes[(updates - 1) % 2];
        var raw = Any.Parser.ParseFrom(last);
        var afterRaw = LiveBytes();
        var result = XdsResourceDecoder.Decode(XdsTypeUrls.ClusterLoadAssignment, raw);
        var update = (XdsEndpointUpdate)result.Update!;
        var afterUpdate = LiveBytes();
        var cluster = EdsUpdateFixture.Cluster(update, policyModel);
        var table = runtime.Tables.Publish(EdsUpdateFixture.Snapshot(cluster));
        var afterPublish = LiveBytes();

        EdsUpdateFixture.Check(table, cluster, endpoints);
        GC.KeepAlive(raw);
        GC.KeepAlive(update);
        GC.KeepAlive(runtime);
        GC.KeepAlive(bytes);
        return new Kept(afterRaw - before, afterUpdate - afterRaw, afterPublish - afterUpdate, Steps: updates == 1);
    }

    // Not inlined: what the update returns must not stay in a stack slot of Measure (unoptimised code
    // reports such slots live until the method returns), or the GC would count it as kept by the client.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ApplyAndDrop(MeshRuntime runtime, byte[] bytes, LoadBalancingPolicy policy) =>
        EdsUpdateFixture.Apply(runtime, bytes, policy);

    private static long LiveBytes()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static string Name(UpdatePolicy policy) => policy switch
    {
        UpdatePolicy.RingHash => "ring_hash",
        UpdatePolicy.Maglev => "maglev",
        _ => "round_robin",
    };

    /// <param name="Steps">Whether the three parts are those of one update (else only the total means something).</param>
    private readonly record struct Kept(long Raw, long Update, long Published, bool Steps)
    {
        public long Total => Raw + Update + Published;
    }
}
