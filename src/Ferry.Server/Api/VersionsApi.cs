using System.Globalization;
using System.Text;
using Ferry.Deploy;
using Ferry.Diagnostics;
using Ferry.Server.Auth;
using Ferry.Server.Projects;
using Ferry.Storage;

namespace Ferry.Server.Api;

/// <summary>
/// Versions beyond list/get/deploy: the diff between two versions (file by file, with unified diff text) and restore,
/// which deploys an old version's bundle again as a NEW version, so history stays linear and every run keeps
/// pointing at the version it ran on.
/// </summary>
internal static class VersionsApi
{
    private const string Current = "current";

    public static RouteGroupBuilder MapVersionsApi(this RouteGroupBuilder api)
    {
        api.MapGet("/projects/{project}/versions/{from}/diff/{to}", (string project, string from, string to, HttpRequest request, FerryStore store, CancellationToken ct) =>
                DiffAsync(project, from, to, request, store, ct))
            .WithName("DiffVersions").WithTags("Versions")
            .WithSummary("What changes from version {from} to version {to} ('current' names the current one): files added, removed and changed, with unified diff text. Accept: text/x-diff gives the diff alone.")
            .RequireProjectRole(ProjectRole.Viewer);

        api.MapGet("/projects/{project}/versions/{from}/diff", (string project, string from, HttpRequest request, FerryStore store, CancellationToken ct) =>
                DiffAsync(project, from, Current, request, store, ct))
            .WithName("DiffVersionWithCurrent").WithTags("Versions")
            .WithSummary("What changes from version {from} to the current version.")
            .RequireProjectRole(ProjectRole.Viewer);

        api.MapPost("/projects/{project}/versions/{version}/restore", RestoreAsync)
            .WithName("RestoreVersion").WithTags("Versions")
            .WithSummary("Makes a new version with the bundle of {version} and makes it current (201); 200 when that bundle is already current.")
            .RequireProjectRole(ProjectRole.Editor);
        return api;
    }

    private static async Task<IResult> DiffAsync(string project, string from, string to, HttpRequest request, FerryStore store, CancellationToken ct)
    {
        var (before, beforeProblem) = await FindAsync(project, from, "from", store, ct);
        if (beforeProblem is not null) return beforeProblem;
        var (after, afterProblem) = await FindAsync(project, to, "to", store, ct);
        if (afterProblem is not null) return afterProblem;

        var a = ProjectBundle.FromJson(before!.BundleJson, $"{project} v{before.Version}");
        var b = ProjectBundle.FromJson(after!.BundleJson, $"{project} v{after.Version}");
        var files = a.Files.Keys.Union(b.Files.Keys).Order(StringComparer.Ordinal)
            .Select(path =>
            {
                var old = a.Files.GetValueOrDefault(path);
                var now = b.Files.GetValueOrDefault(path);
                var change = old is null ? "added" : now is null ? "removed" : old == now ? null : "changed";
                if (change is null) return null;
                var diff = UnifiedDiff.Of(path, old, now);
                // Counted from the hunks (the two header lines skipped, so a content line "++ x" is not taken for "+++ b/…").
                var lines = diff.Split('\n').Skip(2).ToArray();
                return new DiffFile(path, change, lines.Count(l => l.StartsWith('+')), lines.Count(l => l.StartsWith('-')), diff);
            })
            .OfType<DiffFile>()
            .ToArray();
        var text = string.Concat(files.Select(f => f.Diff));

        if (WantsText(request)) return Results.Text(text, "text/x-diff", Encoding.UTF8);
        return Results.Ok(new
        {
            project,
            from = before.Version,
            to = after.Version,
            identical = files.Length == 0,
            summary = BundleDiff.Compare(a, b),
            files,
            diff = text,
        });
    }

    private static async Task<IResult> RestoreAsync(string project, string version, HttpContext http, FerryStore store, DeployedProjects projects, CancellationToken ct)
    {
        var (record, problem) = await FindAsync(project, version, "version", store, ct);
        if (problem is not null) return problem;
        try
        {
            var bundle = ProjectBundle.FromJson(record!.BundleJson, $"{project} v{record.Version}");
            var (saved, created) = await projects.DeployAsync(bundle, http.Items["ferry.user"] as string, project,
                v => Audit.Entry(http, "version.restore", project, $"v{v.Version}", null, new { version = v.Version, restoredFrom = record.Version, v.SpecHash }), ct);
            var result = new { saved.Project, saved.Version, saved.SpecHash, saved.CreatedAt, restoredFrom = record.Version, created };
            return created ? Results.Created($"/api/projects/{project}/versions/{saved.Version}", result) : Results.Ok(result);
        }
        catch (FerryInputException e)
        {
            // The old version no longer validates here (an adaptor changed, a credential was renamed…): nothing was stored.
            return Problems.Invalid(e, "version");
        }
    }

    /// <summary>A version named by number or 'current'; else a 400 (not a version) or 404 (no such project or version) naming the parameter.</summary>
    private static async Task<(VersionRecord? Record, IResult? Problem)> FindAsync(string project, string text, string parameter, FerryStore store, CancellationToken ct)
    {
        int? number = null;
        if (!string.Equals(text, Current, StringComparison.OrdinalIgnoreCase))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
            {
                return (null, Problems.Of(StatusCodes.Status400BadRequest, "Bad version",
                    $"'{text}' is not a version: write a version number (GET /api/projects/{project}/versions lists them) or 'current'.", parameter));
            }
            number = parsed;
        }
        var record = await store.GetVersionAsync(project, number, ct);
        if (record is not null) return (record, null);
        if (number is null || await store.GetVersionAsync(project, null, ct) is null)
            return (null, Problems.NotFound($"No project '{project}' is deployed here. GET /api/projects lists the deployed ones.", "project"));
        return (null, Problems.NotFound($"Project '{project}' has no version {number}. GET /api/projects/{project}/versions lists its versions.", parameter));
    }

    private static bool WantsText(HttpRequest request) =>
        request.Headers.Accept.Any(a => a is not null && (a.Contains("text/x-diff", StringComparison.OrdinalIgnoreCase) || a.Contains("text/plain", StringComparison.OrdinalIgnoreCase)));

    private sealed record DiffFile(string Path, string Change, int Added, int Removed, string Diff);
}
