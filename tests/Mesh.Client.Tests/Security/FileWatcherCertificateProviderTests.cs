using Mesh.Client.Security.Internal;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Client.Tests.Security;

public sealed class FileWatcherCertificateProviderTests : IDisposable
{
    private readonly TlsKit _kit = new();

    public void Dispose() => _kit.Dispose();

    private FileWatcherCertificateProvider Provider(TimeProvider? time = null, TimeSpan? refresh = null) =>
        new("default", _kit.ProviderSettings(refresh), time ?? TimeProvider.System, NullLogger.Instance);

    [Theory]
    [InlineData(TestKeyType.EcdsaP256)]
    [InlineData(TestKeyType.Rsa2048)]
    public void PemIdentity_RsaAndEcdsa_Load(TestKeyType keyType)
    {
        _kit.Ca.WriteIstioFiles(_kit.Directory, _kit.Ca.Issue(TlsKit.ClientId, keyType: keyType));
        using var provider = Provider();

        var identity = provider.GetIdentity(out var error);

        Assert.Null(error);
        Assert.NotNull(identity);
        Assert.True(identity.Leaf.HasPrivateKey);
        Assert.Contains(TlsKit.ClientId, identity.Description);
        Assert.Single(provider.GetRoots(out _)!);
    }

    [Fact]
    public void KeyThatDoesNotBelongToTheCertificate_KeepsTheLastGoodIdentity()
    {
        using var provider = Provider();
        var before = provider.GetIdentity(out _)!;

        // A rotation caught half way: the new certificate beside the old key.
        File.WriteAllText(_kit.ChainFile, _kit.Ca.Issue(TlsKit.ClientId).ExportCertificatePem());
        provider.Reload();

        Assert.Same(before, provider.GetIdentity(out var error));
        Assert.Null(error);
    }

    [Fact]
    public void FirstLoadFails_ReasonNamesTheFile()
    {
        File.Delete(_kit.ChainFile);
        using var provider = Provider();

        Assert.Null(provider.GetIdentity(out var error));
        Assert.Contains("cert-chain.pem", error);
        Assert.Contains("does not exist", error);
    }

    [Fact]
    public void UnreadableRoots_ReasonNamesTheFile()
    {
        File.WriteAllText(_kit.RootFile, "not a certificate");
        using var provider = Provider();

        Assert.Null(provider.GetRoots(out var error));
        Assert.Contains("root-cert.pem", error);
    }

    [Fact]
    public void RefreshInterval_ReloadsRotatedFiles_OnTheTimer()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var provider = Provider(time, TimeSpan.FromMinutes(5));
        var first = provider.GetIdentity(out _)!.Leaf.SerialNumber;
        var rotated = _kit.RotateClient();

        // Unchanged until the interval passes, then the new certificate.
        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(first, provider.GetIdentity(out _)!.Leaf.SerialNumber);
        File.SetLastWriteTimeUtc(_kit.ChainFile, DateTime.UtcNow.AddSeconds(5));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(rotated.SerialNumber, provider.GetIdentity(out _)!.Leaf.SerialNumber);
    }

    [Fact]
    public void IdentityPastItsExpiry_IsReportedExpired()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var provider = Provider(time);
        time.Advance(TimeSpan.FromDays(2)); // the kit's certificates last a day

        Assert.Null(provider.GetIdentity(out var error));
        Assert.Contains("expired at", error);
    }
}
