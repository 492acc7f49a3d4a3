using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml;
using Ferry.Json;
using Ferry.Spec;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Ferry.Server.Webhooks;

/// <summary>
/// Turns one webhook request into the state a run starts from, or into a refusal that says what is wrong:
/// 503 (trigger disabled or misconfigured), 401 (API key or Basic credentials wrong or missing), 415 (content
/// type the trigger does not accept), 413 (body over the trigger's limit), 400 (malformed JSON, form or XML).
/// </summary>
/// <remarks>
/// Checks run cheapest first and the body is read only once auth and content type have passed. The body is read
/// with a cap, so a missing or lying <c>Content-Length</c> cannot make the server buffer more than the limit.
/// A JSON body is validated, then copied into the state unparsed: the engine parses it lazily.
/// </remarks>
public static class WebhookRequestReader
{
    /// <summary>Body limit when the trigger sets none: 10 MB.</summary>
    public const long DefaultMaxBodyBytes = 10L * 1024 * 1024;

    private static readonly JsonReaderOptions JsonOptions = new() { MaxDepth = Js.MaxDepth };
    private static readonly HashSet<string> HiddenHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "authorization", "proxy-authorization", "x-api-key", "cookie",
    };

    public static async Task<WebhookReadResult> ReadAsync(HttpContext context, TriggerSpec trigger, JsObject? secrets, CancellationToken cancellationToken = default)
    {
        var request = context.Request;
        if (!trigger.Enabled)
        {
            var why = string.IsNullOrWhiteSpace(trigger.DisabledReason) ? "no reason was given" : trigger.DisabledReason;
            return Refuse(trigger, 503, "Service Unavailable", "disabled", "trigger",
                $"Trigger '{trigger.Name}' is disabled ({why}). Nothing was stored; send again once the trigger is enabled.");
        }

        var authRefusal = CheckAuth(request, trigger, secrets);
        if (authRefusal is not null) return new WebhookReadResult(null, authRefusal);

        var kind = BodyKindOf(request.ContentType, trigger, out var mediaType);
        if (kind is null)
        {
            var allowed = string.Join(", ", trigger.ContentTypes.Select(MediaTypesOf));
            var sent = string.IsNullOrEmpty(request.ContentType) ? "no Content-Type" : $"Content-Type '{request.ContentType}'";
            return Refuse(trigger, 415, "Unsupported Media Type", "unsupported_media_type", "Content-Type",
                $"Trigger '{trigger.Name}' does not accept {sent}. It accepts: {allowed}. Send one of those, or add the kind to the trigger's content_types.");
        }

        Encoding? textEncoding = null;
        if (kind is "xml" or "text")
        {
            textEncoding = TextEncodingOf(mediaType);
            if (textEncoding is null)
                return Refuse(trigger, 415, "Unsupported Media Type", "unsupported_media_type", "Content-Type",
                    $"The charset '{mediaType.Charset}' in Content-Type is not supported. Send the body as UTF-8 (charset=utf-8).");
        }

        var max = trigger.MaxBodyBytes ?? DefaultMaxBodyBytes;
        if (request.ContentLength > max) return TooLarge(trigger, max, request.ContentLength.Value);

        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (limit is { IsReadOnly: false }) limit.MaxRequestBodySize = max + 1;

        byte[] buffer;
        int length;
        try
        {
            (buffer, length) = await ReadCappedAsync(request.Body, request.ContentLength, max, cancellationToken);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(trigger, max, null);
        }
        try
        {
            if (length > max) return TooLarge(trigger, max, null);
            var body = buffer.AsMemory(0, length);
            return kind switch
            {
                "json" => ReadJson(request, trigger, body),
                "form" => ReadForm(request, trigger, body),
                _ => ReadText(request, trigger, body, kind, textEncoding!),
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // ---- auth ------------------------------------------------------------------------------------

    private static WebhookRefusal? CheckAuth(HttpRequest request, TriggerSpec trigger, JsObject? secrets)
    {
        switch (trigger.Auth)
        {
            case "none":
                return null;
            case "api-key":
                {
                    // api_key, or apiKey as the http adaptor names it, so one credential can guard a trigger and call the source.
                    if ((secrets?.Get("api_key") ?? secrets?.Get("apiKey")) is not string expected || expected.Length == 0)
                        return Misconfigured(trigger, "api_key");
                    var sent = request.Headers["X-API-Key"];
                    if (StringValues.IsNullOrEmpty(sent))
                        return Unauthorized(trigger, "X-API-Key", $"Trigger '{trigger.Name}' requires an X-API-Key header. Send the key from credential '{trigger.Credential}'.", basic: false);
                    if (sent.Count != 1 || !SecretEquals(sent.ToString(), expected))
                        return Unauthorized(trigger, "X-API-Key", $"The X-API-Key header does not match trigger '{trigger.Name}'s key. Check the key in credential '{trigger.Credential}'.", basic: false);
                    return null;
                }
            case "basic":
                {
                    if (secrets?.Get("username") is not string user || secrets.Get("password") is not string password)
                        return Misconfigured(trigger, "username/password");
                    var header = request.Headers.Authorization.ToString();
                    if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
                        return Unauthorized(trigger, "Authorization", $"Trigger '{trigger.Name}' requires HTTP Basic authentication (Authorization: Basic …).", basic: true);
                    string decoded;
                    try
                    {
                        decoded = new UTF8Encoding(false, true).GetString(Convert.FromBase64String(header[6..].Trim()));
                    }
                    catch (Exception e) when (e is FormatException or DecoderFallbackException)
                    {
                        return Unauthorized(trigger, "Authorization", "The Basic credentials are not valid base64 of 'username:password'.", basic: true);
                    }
                    var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                    var sentUser = colon < 0 ? decoded : decoded[..colon];
                    var sentPassword = colon < 0 ? "" : decoded[(colon + 1)..];
                    // Both comparisons always run (non-short-circuit &), so timing does not tell which part was wrong.
                    if (!(SecretEquals(sentUser, user) & SecretEquals(sentPassword, password)))
                        return Unauthorized(trigger, "Authorization", $"The Basic username or password is wrong for trigger '{trigger.Name}'. Check credential '{trigger.Credential}'.", basic: true);
                    return null;
                }
            default:
                return Refuse(trigger, 503, "Service Unavailable", "misconfigured", "auth",
                    $"Trigger '{trigger.Name}' has auth '{trigger.Auth}', which the server does not know (use api-key, basic or none). Fix ferry.yaml and deploy again.").Refusal;
        }
    }

    /// <summary>
    /// Compares in constant time. Both sides are hashed first so that the comparison also takes the same time
    /// whatever the lengths (<see cref="CryptographicOperations.FixedTimeEquals"/> returns early on a length mismatch).
    /// </summary>
    internal static bool SecretEquals(string sent, string expected)
    {
        Span<byte> a = stackalloc byte[32];
        Span<byte> b = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(sent), a);
        SHA256.HashData(Encoding.UTF8.GetBytes(expected), b);
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    private static WebhookRefusal Unauthorized(TriggerSpec trigger, string field, string detail, bool basic)
    {
        var refusal = new WebhookRefusal(401, "Unauthorized", detail, field, trigger.Name) { Reason = "unauthorized" };
        return basic
            ? refusal with { Headers = new Dictionary<string, string> { ["WWW-Authenticate"] = "Basic realm=\"ferry\", charset=\"UTF-8\"" } }
            : refusal;
    }

    private static WebhookRefusal Misconfigured(TriggerSpec trigger, string keys) =>
        new(503, "Service Unavailable",
            $"Trigger '{trigger.Name}' uses auth '{trigger.Auth}' but its credential '{trigger.Credential}' has no {keys}. Nothing was stored; set {keys} on the credential.",
            "credential", trigger.Name)
        { Reason = "misconfigured" };

    // ---- content type and body -------------------------------------------------------------------

    private static string? BodyKindOf(string? contentType, TriggerSpec trigger, out MediaTypeHeaderValue mediaType)
    {
        mediaType = NoMediaType;
        string kind;
        if (contentType is not null && (contentType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || contentType.Equals("application/json; charset=utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            // What nearly every sender sends, known without parsing the header.
            kind = "json";
        }
        else if (string.IsNullOrWhiteSpace(contentType))
        {
            // Many senders omit the header; JSON is the default kind of a webhook.
            kind = "json";
        }
        else
        {
            if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed)) return null;
            mediaType = parsed;
            var type = parsed.Type.Value ?? "";
            var sub = parsed.SubTypeWithoutSuffix.Value ?? "";
            var suffix = parsed.Suffix.Value ?? "";
            kind = type.ToLowerInvariant() switch
            {
                "application" when sub.Equals("json", StringComparison.OrdinalIgnoreCase) || suffix.Equals("json", StringComparison.OrdinalIgnoreCase) => "json",
                "application" when sub.Equals("x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) => "form",
                "application" when sub.Equals("xml", StringComparison.OrdinalIgnoreCase) || suffix.Equals("xml", StringComparison.OrdinalIgnoreCase) => "xml",
                "text" when sub.Equals("json", StringComparison.OrdinalIgnoreCase) => "json",
                "text" when sub.Equals("xml", StringComparison.OrdinalIgnoreCase) => "xml",
                "text" => "text",
                _ => "",
            };
        }
        return kind.Length > 0 && trigger.ContentTypes.Contains(kind, StringComparer.OrdinalIgnoreCase) ? kind : null;
    }

    private static readonly MediaTypeHeaderValue NoMediaType = new("application/octet-stream");

    private static string MediaTypesOf(string kind) => kind.ToLowerInvariant() switch
    {
        "json" => "application/json",
        "form" => "application/x-www-form-urlencoded",
        "xml" => "application/xml or text/xml",
        "text" => "text/plain",
        _ => kind,
    };

    private static Encoding? TextEncodingOf(MediaTypeHeaderValue mediaType)
    {
        if (!mediaType.Charset.HasValue) return new UTF8Encoding(false, true);
        Encoding encoding;
        try
        {
            encoding = Encoding.GetEncoding(mediaType.Charset.Value!.Trim('"'));
        }
        catch (ArgumentException)
        {
            return null;
        }
        return Encoding.GetEncoding(encoding.CodePage, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
    }

    /// <summary>Reads at most <paramref name="max"/> + 1 bytes into a pooled buffer (the caller returns it).</summary>
    private static async Task<(byte[] Buffer, int Length)> ReadCappedAsync(Stream body, long? contentLength, long max, CancellationToken cancellationToken)
    {
        var cap = (int)Math.Min(max + 1, Array.MaxLength);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(contentLength ?? 16 * 1024, 256), cap));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length >= cap) break;
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, cap));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, cap) - length), cancellationToken);
                if (read == 0) break;
                length += read;
                if (length >= cap) break;
            }
            return (buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static WebhookReadResult ReadJson(HttpRequest request, TriggerSpec trigger, ReadOnlyMemory<byte> body)
    {
        var json = body.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? body[3..] : body;
        if (json.Span.Trim(" \t\r\n"u8).IsEmpty)
            return Refuse(trigger, 400, "Bad Request", "malformed", "body", "The body is empty, but the trigger expects JSON. Send a JSON value such as {} (or an array).");
        try
        {
            var reader = new Utf8JsonReader(json.Span, JsonOptions);
            while (reader.Read())
            {
            }
        }
        catch (JsonException e)
        {
            var message = e.Message;
            var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut > 0) message = message[..cut];
            var line = (e.LineNumber ?? 0) + 1;
            var position = (e.BytePositionInLine ?? 0) + 1;
            return Refuse(trigger, 400, "Bad Request", "malformed", "body",
                $"The body is not valid JSON at line {line}, position {position}: {message} Fix the JSON (or send the right Content-Type) and retry.");
        }
        return Accept(request, body.Length, "json", w => w.WriteRawValue(json.Span, skipInputValidation: true));
    }

    private static WebhookReadResult ReadForm(HttpRequest request, TriggerSpec trigger, ReadOnlyMemory<byte> body)
    {
        var span = body.Span;
        if (!System.Text.Unicode.Utf8.IsValid(span))
            return Refuse(trigger, 400, "Bad Request", "malformed", "body", "The form body is not valid UTF-8. Percent-encode the values as UTF-8 and retry.");
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] == (byte)'%' && (i + 2 >= span.Length || !Uri.IsHexDigit((char)span[i + 1]) || !Uri.IsHexDigit((char)span[i + 2])))
                return Refuse(trigger, 400, "Bad Request", "malformed", "body",
                    $"The form body has a bad percent-escape at byte {i + 1} ('%' must be followed by two hex digits). Encode the form with application/x-www-form-urlencoded rules and retry.");
        }
        Dictionary<string, StringValues> fields;
        try
        {
            fields = new FormReader(Encoding.UTF8.GetString(span)).ReadForm();
        }
        catch (InvalidDataException e)
        {
            return Refuse(trigger, 400, "Bad Request", "malformed", "body", $"The form body cannot be read: {e.Message}");
        }
        return Accept(request, body.Length, "form", w => WriteValues(w, fields));
    }

    private static WebhookReadResult ReadText(HttpRequest request, TriggerSpec trigger, ReadOnlyMemory<byte> body, string kind, Encoding encoding)
    {
        string text;
        try
        {
            text = encoding.GetString(body.Span);
        }
        catch (DecoderFallbackException)
        {
            return Refuse(trigger, 400, "Bad Request", "malformed", "body",
                $"The body is not valid {encoding.WebName}. Send it in the charset named in Content-Type (UTF-8 by default).");
        }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        if (kind == "xml")
        {
            try
            {
                var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
                using var reader = XmlReader.Create(new StringReader(text), settings);
                while (reader.Read())
                {
                }
            }
            catch (XmlException e)
            {
                return Refuse(trigger, 400, "Bad Request", "malformed", "body",
                    $"The body is not well-formed XML at line {e.LineNumber}, position {e.LinePosition}: {e.Message} Fix the XML and retry.");
            }
        }
        return Accept(request, body.Length, kind, w => w.WriteStringValue(text));
    }

    // ---- results ---------------------------------------------------------------------------------

    // The state of one request is written into a buffer and writer kept per thread (nothing awaits in between), then
    // copied out at its exact size: one array per request instead of a growing buffer, a writer and a copy.
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_stateBuffer;
    [ThreadStatic] private static Utf8JsonWriter? t_stateWriter;
    private const int KeptStateBufferBytes = 64 * 1024;

    private static WebhookReadResult Accept(HttpRequest request, long bodyBytes, string kind, Action<Utf8JsonWriter> writeData)
    {
        var output = t_stateBuffer ??= new ArrayBufferWriter<byte>(4096);
        output.ResetWrittenCount();
        var w = t_stateWriter ??= new Utf8JsonWriter(output);
        w.Reset(output);
        w.WriteStartObject();
        w.WritePropertyName("data");
        writeData(w);
        w.WriteStartObject("request");
        w.WriteString("method", request.Method);
        w.WriteString("path", (request.PathBase.HasValue ? (request.PathBase + request.Path).Value : request.Path.Value) ?? "/");
        w.WriteStartObject("headers");
        foreach (var (name, values) in request.Headers)
        {
            if (HiddenHeaders.Contains(name)) continue;
            w.WriteString(LowerCase(name), values.ToString());
        }
        w.WriteEndObject();
        w.WritePropertyName("query");
        WriteValues(w, request.Query);
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();
        var state = output.WrittenSpan.ToArray();
        if (output.Capacity > KeptStateBufferBytes)
        {
            // A large body's buffer is not kept for the life of the thread.
            t_stateBuffer = null;
            t_stateWriter = null;
        }
        return new WebhookReadResult(new WebhookInput(state, bodyBytes, kind), null);
    }

    // Header names in lower case, remembered for the names Kestrel hands out as shared strings (Host, Content-Type, …).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> LowerNames = new(ReferenceEqualityComparer.Instance);

    private static string LowerCase(string name)
    {
        if (LowerNames.TryGetValue(name, out var lower)) return lower;
        lower = name.ToLowerInvariant();
        if (string.IsInterned(name) is not null && LowerNames.Count < 256) LowerNames.TryAdd(name, lower);
        return lower;
    }

    /// <summary>Query or form fields: one value → string, repeated → array of strings.</summary>
    private static void WriteValues(Utf8JsonWriter w, IEnumerable<KeyValuePair<string, StringValues>> fields)
    {
        w.WriteStartObject();
        foreach (var (name, values) in fields)
        {
            if (values.Count == 1)
            {
                w.WriteString(name, values[0]);
                continue;
            }
            w.WriteStartArray(name);
            foreach (var v in values) w.WriteStringValue(v);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static WebhookReadResult TooLarge(TriggerSpec trigger, long max, long? declared) =>
        Refuse(trigger, 413, "Content Too Large", "too_large", "body",
            (declared is { } d ? $"The body is {d} bytes" : "The body is larger than the limit") +
            $"; trigger '{trigger.Name}' accepts at most {max} bytes. Send smaller batches, or raise the trigger's max_body_bytes.");

    private static WebhookReadResult Refuse(TriggerSpec trigger, int status, string title, string reason, string field, string detail) =>
        new(null, new WebhookRefusal(status, title, detail, field, trigger.Name) { Reason = reason });
}
