using System.Net;
using Grpc.Core;
using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;
using Mesh.Client.Routing.Internal;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Client.Tests.Resilience;

/// <summary>The fault step both doors run before any attempt: decide, delay, abort in the door's shape.</summary>
public class FaultStepTests
{
    private readonly FaultInjector _faults = new(MeshRandom.CreateSeeded(161));

    [Fact]
    public void Decide_NoPolicy_NoFaultAndNoSlot()
    {
        using var fault = FaultStep.Decide(_faults, null, new GrpcRequestView(null));

        Assert.False(fault.HasFault);
        Assert.True(FaultStep.DelayAsync(fault, TimeProvider.System, default).IsCompletedSuccessfully);
        Assert.Null(FaultStep.AbortException(fault));
        Assert.Equal(0, _faults.ActiveFaults);
    }

    [Fact]
    public async Task Abort_HttpDoor_AnswersWithTheStatusAndEnvoysText()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://catalog/");
        var policy = new FaultPolicy { Abort = new FaultAbort { HttpStatus = 503, PerMillion = 1_000_000 } };

        using var fault = FaultStep.Decide(_faults, policy, new HttpRequestView(request));
        using var response = FaultStep.AbortResponse(fault, request);

        Assert.NotNull(response);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("Fault Injected", response.ReasonPhrase);
        Assert.Same(request, response.RequestMessage);
        Assert.Equal("fault filter abort", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, _faults.ActiveFaults);
    }

    [Fact]
    public void Abort_GrpcDoor_FailsWithTheStatusAndTheMeshsText()
    {
        var policy = new FaultPolicy { Abort = new FaultAbort { GrpcStatus = (int)StatusCode.Unavailable, PerMillion = 1_000_000 } };

        using var fault = FaultStep.Decide(_faults, policy, new GrpcRequestView(null));
        var failure = FaultStep.AbortException(fault);

        Assert.NotNull(failure);
        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.Equal("Fault injected by the mesh (fault filter abort).", failure.Status.Detail);
    }

    [Fact]
    public async Task DelayAsync_Delay_WaitsForTheTimeProvider()
    {
        var time = new FakeTimeProvider();
        var policy = new FaultPolicy { Delay = new FaultDelay { FixedDelay = TimeSpan.FromSeconds(2), PerMillion = 1_000_000 } };
        var fault = FaultStep.Decide(_faults, policy, new GrpcRequestView(null));

        var waiting = FaultStep.DelayAsync(fault, time, default);
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(2));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(FaultStep.AbortException(fault));
        fault.Dispose();
        Assert.Equal(0, _faults.ActiveFaults);
    }
}
