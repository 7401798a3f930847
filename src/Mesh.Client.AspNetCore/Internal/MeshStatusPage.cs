using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Mesh.Client.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.AspNetCore.Internal;

/// <summary>
/// The dashboard: one self-contained page (MeshStatusPage.html, inline CSS and JavaScript) that draws
/// the config dump and fetches it again every few seconds. The first picture travels inside the page, so
/// it draws without waiting for a request; the page needs JavaScript to draw (without it, it links to the
/// JSON). Everything from the dump goes into the document as text, never as markup.
/// </summary>
internal static class MeshStatusPage
{
    private const string DumpUrlSlot = "{{CONFIG_DUMP_URL}}";
    private const string NonceSlot = "{{NONCE}}";
    private const string JsonSlot = "{{INITIAL_JSON}}";

    private static readonly string Template = LoadTemplate();

    public static async Task WriteAsync(HttpContext context)
    {
        var status = context.RequestServices.GetRequiredService<MeshStatus>();
        var json = await status.GetJsonAsync(context.RequestAborted).ConfigureAwait(false);
        var path = (context.Request.PathBase + context.Request.Path).Value ?? string.Empty;
        var dumpUrl = path.TrimEnd('/') + "/config_dump";
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

        var response = context.Response;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentSecurityPolicy =
            $"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        await response.WriteAsync(Render(dumpUrl, nonce, json), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The page with its slots filled, in one pass so that nothing filled in is read as a slot. The JSON is
    /// safe inside a script element: the writer escapes <c>&lt;</c>, <c>&gt;</c> and <c>&amp;</c>.
    /// </summary>
    internal static string Render(string dumpUrl, string nonce, byte[] json)
    {
        var page = new StringBuilder(Template.Length + json.Length + 256);
        var at = 0;
        while (true)
        {
            var start = Template.IndexOf("{{", at, StringComparison.Ordinal);
            if (start < 0)
            {
                return page.Append(Template, at, Template.Length - at).ToString();
            }

            page.Append(Template, at, start - at);
            var slot = Template.AsSpan(start);
            if (slot.StartsWith(DumpUrlSlot, StringComparison.Ordinal))
            {
                page.Append(HtmlEncoder.Default.Encode(dumpUrl));
                at = start + DumpUrlSlot.Length;
            }
            else if (slot.StartsWith(NonceSlot, StringComparison.Ordinal))
            {
                page.Append(nonce);
                at = start + NonceSlot.Length;
            }
            else if (slot.StartsWith(JsonSlot, StringComparison.Ordinal))
            {
                page.Append(Encoding.UTF8.GetString(json));
                at = start + JsonSlot.Length;
            }
            else
            {
                page.Append("{{");
                at = start + 2;
            }
        }
    }

    private static string LoadTemplate()
    {
        using var stream = typeof(MeshStatusPage).Assembly.GetManifestResourceStream("Mesh.Client.AspNetCore.MeshStatusPage.html")
            ?? throw new InvalidOperationException("The dashboard page is missing from Mesh.Client.AspNetCore's resources.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
