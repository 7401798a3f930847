using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;

namespace Mesh.Client.Tests.Testing;

/// <summary>
/// A hand-driven ADS client for testing <see cref="XdsTestServer"/>: a real gRPC stream whose requests the test
/// writes and whose responses it takes one at a time, each wait bounded by <see cref="Wait.Timeout"/>.
/// </summary>
internal sealed class AdsTestStream : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> _call;
    private readonly Channel<DiscoveryResponse> _responses = Channel.CreateUnbounded<DiscoveryResponse>();
    private readonly Node _node;
    private bool _nodeSent;

    private AdsTestStream(Uri address, string nodeId)
    {
        _channel = GrpcChannel.ForAddress(address);
        _call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(_channel).StreamAggregatedResources();
        _node = new Node { Id = nodeId, Cluster = "test-cluster", UserAgentName = "ads-test-stream", ClientFeatures = { "envoy.lb.does_not_support_overprovisioning" } };
        Ended = ReadAsync();
    }

    /// <summary>Completes when the response stream ends: with null when it ended cleanly, else with the error.</summary>
    public Task<Exception?> Ended { get; }

    public static AdsTestStream Open(XdsTestServer server, string nodeId = "test-node") => new(server.Address, nodeId);

    /// <summary>Sends a subscription: the type's whole list of names, no version, no nonce.</summary>
    public Task SubscribeAsync(string typeUrl, params string[] names) =>
        SendAsync(new DiscoveryRequest { TypeUrl = typeUrl, ResourceNames = { names } });

    /// <summary>ACKs <paramref name="response"/>, keeping (or changing to) <paramref name="names"/>.</summary>
    public Task AckAsync(DiscoveryResponse response, params string[] names) =>
        SendAsync(new DiscoveryRequest
        {
            TypeUrl = response.TypeUrl,
            VersionInfo = response.VersionInfo,
            ResponseNonce = response.Nonce,
            ResourceNames = { names },
        });

    /// <summary>NACKs <paramref name="response"/>, reporting <paramref name="acceptedVersion"/> as the last good one.</summary>
    public Task NackAsync(DiscoveryResponse response, string acceptedVersion, string message, params string[] names) =>
        SendAsync(new DiscoveryRequest
        {
            TypeUrl = response.TypeUrl,
            VersionInfo = acceptedVersion,
            ResponseNonce = response.Nonce,
            ResourceNames = { names },
            ErrorDetail = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = message },
        });

    public Task SendAsync(DiscoveryRequest request)
    {
        if (!_nodeSent)
        {
            request.Node = _node;
            _nodeSent = true;
        }

        return _call.RequestStream.WriteAsync(request);
    }

    /// <summary>The next response, whatever its type.</summary>
    public Task<DiscoveryResponse> NextAsync(string what = "the next ADS response") =>
        _responses.Reader.ReadAsync().AsTask().DefaultTimeout(what);

    public async ValueTask DisposeAsync()
    {
        _call.Dispose();
        await Ended;
        _channel.Dispose();
    }

    private async Task<Exception?> ReadAsync()
    {
        try
        {
            await foreach (var response in _call.ResponseStream.ReadAllAsync())
            {
                _responses.Writer.TryWrite(response);
            }

            _responses.Writer.TryComplete();
            return null;
        }
        catch (RpcException ex)
        {
            _responses.Writer.TryComplete(ex);
            return ex;
        }
    }
}
