using Ferry.Adaptors.Common;
using Ferry.Json;

namespace Ferry.Adaptors.Http;

/// <summary>
/// Follows "next" links through a paged API and concatenates the items of every page. The next URL comes from a
/// configured path in the body (<c>next: "links.next"</c>; an object with <c>href</c> or <c>url</c> works too), else
/// a <c>Link: &lt;…&gt;; rel="next"</c> header, else a FHIR Bundle's <c>link[relation=next].url</c>. Items come from a
/// configured path (<c>items: "data"</c>), else the body itself when it is an array, else a FHIR Bundle's
/// <c>entry</c>.
/// </summary>
internal sealed class NextLinkPager(HttpTransport transport, AdaptorContext context)
{
    public const int DefaultMaxPages = 1000;

    public async Task<JsArray> GetAllAsync(string operation, HttpCall first, string? itemsPath, string? nextPath, int maxPages, CancellationToken ct)
    {
        var all = new JsArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var url = transport.Resolve(operation, first.Target, first.Query);
        for (var page = 1; ; page++)
        {
            seen.Add(url.AbsoluteUri);
            var reply = await transport.SendAsync(operation, first, url, ct);
            var items = Items(operation, reply, itemsPath, url, page);
            foreach (var item in items) all.Add(item);
            context.Log.Debug($"{context.AdaptorName}.{operation}: page {page} had {items.Count} items ({all.Count} so far)");

            var next = NextUrl(reply, nextPath);
            if (string.IsNullOrWhiteSpace(next)) return all;
            if (!Uri.TryCreate(reply.Url, next, out var nextUrl) || nextUrl.Scheme is not ("http" or "https"))
                throw new AdaptorException(context.AdaptorName, operation,
                    transport.Scrub($"{context.AdaptorName}.{operation}: page {page} ({url}) gave a next link that is not an http(s) URL: '{next}'. Check the 'next' option."));
            if (page >= maxPages)
                throw new AdaptorException(context.AdaptorName, operation,
                    transport.Scrub($"{context.AdaptorName}.{operation}: stopped after maxPages = {maxPages} pages ({all.Count} items) but the server still offers a next page ({nextUrl}). " +
                                    "Raise maxPages, or narrow the query (e.g. by date) and page with a cursor."));
            if (seen.Contains(nextUrl.AbsoluteUri))
                throw new AdaptorException(context.AdaptorName, operation,
                    transport.Scrub($"{context.AdaptorName}.{operation}: page {page} links back to a page already read ({nextUrl}); the API's paging loops. Check the 'next' option."));
            url = nextUrl;
        }
    }

    private JsArray Items(string operation, HttpReply reply, string? itemsPath, Uri url, int page)
    {
        var body = reply.Body;
        object? items;
        if (itemsPath is not null)
        {
            items = StatePath.Select(body, itemsPath);
            if (items is null) return [];
        }
        else if (body is JsArray)
        {
            items = body;
        }
        else if (IsBundle(body))
        {
            items = ((JsObject)body!)["entry"] ?? new JsArray();
        }
        else
        {
            var arrays = body is JsObject o ? o.Where(kv => kv.Value is JsArray).Select(kv => kv.Key).ToList() : [];
            throw new AdaptorException(context.AdaptorName, operation, transport.Scrub(
                $"{context.AdaptorName}.{operation}: page {page} ({url}) is not an array, so say where its items are with the 'items' option" +
                (arrays.Count > 0 ? $", e.g. items: \"{arrays[0]}\" (array members: {string.Join(", ", arrays)})." : $"; the body was {AdaptorOptions.Describe(body)}.")));
        }
        return items as JsArray ?? throw new AdaptorException(context.AdaptorName, operation, transport.Scrub(
            $"{context.AdaptorName}.{operation}: page {page} ({url}): '{itemsPath}' is {AdaptorOptions.Describe(items)}, not an array. Point 'items' at the array of records."));
    }

    private static string? NextUrl(HttpReply reply, string? nextPath)
    {
        if (nextPath is not null)
        {
            return StatePath.Select(reply.Body, nextPath) switch
            {
                string s => s,
                JsObject o => o["href"] as string ?? o["url"] as string,
                _ => null,
            };
        }
        if (reply.Headers["link"] is string link && LinkHeaderNext(link) is { } fromHeader) return fromHeader;
        if (IsBundle(reply.Body)) return StatePath.Select(reply.Body, "link[relation=next].url") as string;
        return null;
    }

    private static bool IsBundle(object? body) => body is JsObject o && o["resourceType"] is "Bundle";

    /// <summary>The target of <c>rel="next"</c> in an RFC 8288 Link header.</summary>
    internal static string? LinkHeaderNext(string header)
    {
        foreach (var part in SplitLinks(header))
        {
            var close = part.IndexOf('>', StringComparison.Ordinal);
            var open = part.IndexOf('<', StringComparison.Ordinal);
            if (open < 0 || close < open) continue;
            var target = part[(open + 1)..close];
            foreach (var param in part[(close + 1)..].Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = param.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0 || !param[..eq].Trim().Equals("rel", StringComparison.OrdinalIgnoreCase)) continue;
                var rels = param[(eq + 1)..].Trim().Trim('"').Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (rels.Any(r => r.Equals("next", StringComparison.OrdinalIgnoreCase))) return target;
            }
        }
        return null;
    }

    private static IEnumerable<string> SplitLinks(string header)
    {
        // Commas separate links but may also appear inside <…>; split only outside angle brackets.
        var start = 0;
        var inside = false;
        for (var i = 0; i < header.Length; i++)
        {
            if (header[i] == '<') inside = true;
            else if (header[i] == '>') inside = false;
            else if (header[i] == ',' && !inside)
            {
                yield return header[start..i];
                start = i + 1;
            }
        }
        yield return header[start..];
    }
}
