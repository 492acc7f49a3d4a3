using System.Text.Json;
using System.Text.Json.Nodes;
using Ferry.Storage;

namespace Ferry.Server.Auth;

/// <summary>
/// Builds the audit log's entries: who (the caller), what (an action such as <c>version.deploy</c>,
/// <c>credential.set</c>, <c>run.cancel</c>), which project and target, and the before/after as JSON. Callers pass
/// names, never secret values (credential field NAMES only); as a second line of defence any member named like a
/// secret (password, token, secret, apiKey, envelope, hash…) is written as <c>"[redacted]"</c>.
/// </summary>
public sealed class Audit(FerryStore store)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly HashSet<string> SecretNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "password", "passwordHash", "token", "secret", "clientSecret", "apiKey", "api_key", "privateKey", "envelope", "hash", "value", "values",
    };

    /// <summary>
    /// The audit entry of a change made by the request's caller (<c>anonymous</c> before sign-in). Pass it to the store
    /// method that makes the change: the store writes both in one transaction, so no change goes unrecorded and no
    /// record names a change that did not happen.
    /// </summary>
    public static AuditEntry Entry(HttpContext http, string action, string? project, string target, object? before, object? after) =>
        Entry(Caller.ActorOf(http), action, project, target, before, after);

    /// <summary>The audit entry of a change made outside a request (e.g. <c>ferry serve --deploy</c>).</summary>
    public static AuditEntry Entry(string actor, string action, string? project, string target, object? before, object? after) =>
        new(actor, action, project, target, ToJson(before), ToJson(after));

    /// <summary>Records an event that changes nothing else (a failed or throttled sign-in) on its own.</summary>
    public Task RecordAsync(HttpContext http, string action, string? project, string target, object? before, object? after) =>
        store.AppendAuditAsync(Entry(http, action, project, target, before, after), CancellationToken.None);

    private static string? ToJson(object? value)
    {
        if (value is null) return null;
        var node = JsonSerializer.SerializeToNode(value, Json);
        Redact(node);
        return node?.ToJsonString();
    }

    private static void Redact(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var name in obj.Select(p => p.Key).ToList())
                {
                    if (SecretNames.Contains(name)) obj[name] = "[redacted]";
                    else Redact(obj[name]);
                }
                break;
            case JsonArray array:
                foreach (var item in array) Redact(item);
                break;
        }
    }
}
