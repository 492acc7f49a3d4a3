using System.Globalization;
using System.Text.Json.Nodes;
using Ferry.Server.Auth;
using Ferry.Storage;

namespace Ferry.Server.Api;

/// <summary>The audit log: server admins see all of it; project admins and owners see their projects' rows.</summary>
internal static class AuditApi
{
    public static RouteGroupBuilder MapAuditApi(this RouteGroupBuilder api)
    {
        api.MapGet("/audit", async (HttpContext http, FerryStore store) =>
        {
            var q = http.Request.Query;
            var caller = Caller.Of(http)!;
            DateTimeOffset? since = null;
            if (!string.IsNullOrEmpty(q["since"]))
            {
                if (!DateTimeOffset.TryParse(q["since"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var s))
                    return Problems.Of(400, "Bad filter", "'since' must be an ISO 8601 time, e.g. 2026-11-22T00:00:00Z.", "since");
                since = s;
            }
            var limit = 50;
            if (q["limit"].Count > 0 && (!int.TryParse(q["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > AuditQuery.MaxLimit))
                return Problems.Of(400, "Bad paging", $"'limit' must be a whole number from 1 to {AuditQuery.MaxLimit}.", "limit");
            string? project = q["project"];
            var projects = project is null ? caller.ProjectsWith(ProjectRole.Admin) : null;
            if (projects is { Count: 0 })
                return Problems.Of(403, "Forbidden", $"The audit log is shown to server admins and to admins and owners of a project; '{caller.Username}' is neither.", "Authorization");
            try
            {
                var page = await store.ListAuditAsync(new AuditQuery(project, projects, since, limit, q["after"]), http.RequestAborted);
                return Results.Ok(new
                {
                    items = page.Items.Select(a => new
                    {
                        a.Seq,
                        a.Time,
                        a.Actor,
                        a.Action,
                        a.Project,
                        a.Target,
                        before = a.BeforeJson is null ? null : JsonNode.Parse(a.BeforeJson),
                        after = a.AfterJson is null ? null : JsonNode.Parse(a.AfterJson),
                    }),
                    next = page.Next,
                });
            }
            catch (ArgumentException e)
            {
                return Problems.Of(400, "Bad query", e.Message, e.Message.StartsWith("after", StringComparison.Ordinal) ? "after" : "query");
            }
        }).RequireProjectRole(ProjectRole.Admin, ProjectFrom.Query);
        return api;
    }
}

/// <summary>What the audit log may say about a credential: its adaptor and the NAMES of its fields, never their values.</summary>
internal static class CredentialAudit
{
    public static async Task<object?> DescribeAsync(Projects.ProjectCredentials credentials, FerryStore store, string project, string name, CancellationToken ct)
    {
        var record = (await store.ListCredentialsAsync(project, ct)).FirstOrDefault(c => c.Name == name);
        if (record is null) return null;
        try
        {
            var values = (await credentials.LoadAsync(project, ct)).GetValueOrDefault(name);
            return new { adaptor = record.Adaptor, fields = values?.Keys.Order(StringComparer.Ordinal).ToArray() };
        }
        catch (Credentials.CredentialVaultException)
        {
            return new { adaptor = record.Adaptor, fields = (string[]?)null, note = "stored value could not be decrypted" };
        }
    }
}
