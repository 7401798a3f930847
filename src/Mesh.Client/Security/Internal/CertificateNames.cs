using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Mesh.Client.Model;

namespace Mesh.Client.Security.Internal;

/// <summary>A subject alternative name as a certificate carries it.</summary>
internal readonly record struct SubjectAltName(SubjectAltNameType Type, string Value)
{
    public override string ToString() => $"{Type.ToString().ToUpperInvariant()}:{Value}";
}

/// <summary>Reads subject alternative names (RFC 5280 GeneralNames) and describes certificates for logs.</summary>
internal static class CertificateNames
{
    private const string SubjectAltNameOid = "2.5.29.17";

    /// <summary>The email, DNS, URI and IP address SANs of <paramref name="certificate"/>, in certificate order.</summary>
    public static List<SubjectAltName> Read(X509Certificate2 certificate)
    {
        var names = new List<SubjectAltName>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }

            try
            {
                var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
                var sequence = reader.ReadSequence();
                while (sequence.HasData)
                {
                    var tag = sequence.PeekTag();
                    if (tag.TagClass != TagClass.ContextSpecific)
                    {
                        sequence.ReadEncodedValue();
                        continue;
                    }

                    switch (tag.TagValue)
                    {
                        case 1:
                            names.Add(new(SubjectAltNameType.Email, sequence.ReadCharacterString(UniversalTagNumber.IA5String, tag)));
                            break;
                        case 2:
                            names.Add(new(SubjectAltNameType.Dns, sequence.ReadCharacterString(UniversalTagNumber.IA5String, tag)));
                            break;
                        case 6:
                            names.Add(new(SubjectAltNameType.Uri, sequence.ReadCharacterString(UniversalTagNumber.IA5String, tag)));
                            break;
                        case 7:
                            var bytes = sequence.ReadOctetString(tag);
                            names.Add(new(SubjectAltNameType.IpAddress, bytes.Length is 4 or 16 ? new IPAddress(bytes).ToString() : Convert.ToHexString(bytes)));
                            break;
                        default:
                            sequence.ReadEncodedValue();
                            break;
                    }
                }
            }
            catch (AsnContentException)
            {
                // A malformed extension yields no names: a SAN matcher then fails, which is the safe side.
            }
        }

        return names;
    }

    /// <summary>The SPIFFE ID of a certificate: its one URI SAN starting <c>spiffe://</c> (gRFC A87), else null.</summary>
    public static string? SpiffeId(IEnumerable<SubjectAltName> names)
    {
        string? found = null;
        foreach (var name in names)
        {
            if (name.Type == SubjectAltNameType.Uri && name.Value.StartsWith("spiffe://", StringComparison.OrdinalIgnoreCase))
            {
                if (found is not null)
                {
                    return null; // more than one: not a valid SVID
                }

                found = name.Value;
            }
        }

        return found;
    }

    /// <summary>
    /// Whether the DNS SAN <paramref name="san"/> is a wildcard covering <paramref name="name"/>: <c>*.example.com</c>
    /// stands for exactly one label (RFC 6125), <c>a.example.com</c> but not <c>a.b.example.com</c>. Trailing dots
    /// are ignored; case is not significant.
    /// </summary>
    public static bool WildcardCovers(string san, string name)
    {
        san = san.TrimEnd('.');
        name = name.TrimEnd('.');
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return san.StartsWith("*.", StringComparison.Ordinal) && dot > 0 && string.Equals(name[dot..], san[1..], StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Subject, SANs and validity of a certificate, for debug logs and error messages; no key material.</summary>
    public static string Describe(X509Certificate2 certificate)
    {
        var names = Read(certificate);
        return $"subject '{certificate.Subject}', SANs [{string.Join(", ", names)}], valid {certificate.NotBefore.ToUniversalTime():u} to {certificate.NotAfter.ToUniversalTime():u}";
    }
}
