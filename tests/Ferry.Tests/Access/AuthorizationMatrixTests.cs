using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ferry.Server.Auth;
using Ferry.Tests.Infrastructure;
using Ferry.Tests.Serving;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Ferry.Tests.Access;

/// <summary>
/// THE authorisation matrix: every real <c>/api</c> endpoint (read from the server's EndpointDataSource) × anonymous,
/// outsider, viewer, editor, admin, owner and server admin → 401, 403, 404 (a resource the caller cannot see) or allowed.
/// An endpoint without an entry here fails the test: add one with the access it needs.
/// </summary>
public abstract class AuthorizationMatrixTests
{
    /// <summary>What an endpoint needs. <c>Resource</c>: the project comes from a run/work order/dataclip id.</summary>
    public sealed record Need(string Kind, ProjectRole Role = ProjectRole.Viewer, bool Resource = false)
    {
        public static readonly Need Anyone = new("anyone");
        public static readonly Need SignedIn = new("signed-in");
        public static readonly Need ServerAdmin = new("server-admin");

        public static Need InProject(ProjectRole role) => new("project", role);

        public static Need OnResource(ProjectRole role) => new("project", role, Resource: true);
    }

    /// <summary>
    /// One endpoint: its method and route pattern as mapped, what it needs, and how to make a request that succeeds
    /// for an allowed caller (a setup step may prepare state with the root client first). <paramref name="AlsoAllowed"/>:
    /// a non-2xx answer that still means "allowed" (cancelling a finished run, or retrying while the previous retry still runs, is a 409).
    /// </summary>
    public sealed record Entry(string Method, string Pattern, Need Need, Func<AccessWorld, string, Task<HttpRequestMessage>> Request, HttpStatusCode? AlsoAllowed = null);

    private static Func<AccessWorld, string, Task<HttpRequestMessage>> Send(HttpMethod method, Func<AccessWorld, string> url, Func<AccessWorld, object>? body = null) =>
        (w, _) => Task.FromResult(new HttpRequestMessage(method, url(w)) { Content = body is null ? null : AccessWorld.Json(body(w)) });

    private static readonly string P = AccessWorld.Project;
    private static int _unique;

    public static IReadOnlyList<Entry> Entries { get; } =
    [
        new("GET", "/api/projects", Need.SignedIn, Send(HttpMethod.Get, _ => "/api/projects")),
        new("GET", "/api/projects/{project}/versions", Need.InProject(ProjectRole.Viewer), Send(HttpMethod.Get, _ => $"/api/projects/{P}/versions")),
        new("GET", "/api/projects/{project}/versions/current", Need.InProject(ProjectRole.Viewer), Send(HttpMethod.Get, _ => $"/api/projects/{P}/versions/current")),
        new("GET", "/api/projects/{project}/versions/{version:int}", Need.InProject(ProjectRole.Viewer), Send(HttpMethod.Get, _ => $"/api/projects/{P}/versions/1")),
        new("POST", "/api/projects/{project}/versions", Need.InProject(ProjectRole.Editor),
            Send(HttpMethod.Post, _ => $"/api/projects/{P}/versions", w => JsonSerializer.Deserialize<JsonElement>(Ferry.Deploy.ProjectBundle.FromDirectory(w.ProjectFolder).ToJson()))),
        new("GET", "/api/projects/{project}/versions/{from}/diff/{to}", Need.InProject(ProjectRole.Viewer), Send(HttpMethod.Get, _ => $"/api/projects/{P}/versions/1/diff/current")),
        new("GET", "/api/projects/{project}/versions/{from}/diff", Need.InProject(ProjectRole.Viewer), Send(HttpMethod.Get, _ => $"/api/projects/{P}/versions/1/diff")),
        new("POST", "/api/projects/{project}/versions/{version}/restore", Need.InProject(ProjectRole.Editor), Send(HttpMethod.Post, _ => $"/api/projects/{P}/versions/1/restore")),
        new("GET", "/api/projects/{project}", Need.InProject(ProjectRole.Viewer), Send(HttpMethod.Get, _ => $"/api/projects/{P}")),
        new("GET", "/api/projects/{project}/workflows", Need.InProject(ProjectRole.Viewer), Send(HttpMethod.Get, _ => $"/api/projects/{P}/workflows")),
        new("POST", "/api/projects/{project}/workflows/{workflow}/dry-run", Need.InProject(ProjectRole.Editor),
            Send(HttpMethod.Post, _ => $"/api/projects/{P}/workflows/flow/dry-run", _ => new { input = new { data = new { n = 1 } } })),
        new("GET", "/api/projects/{project}/credentials", Need.InProject(ProjectRole.Viewer), Send(HttpMethod.Get, _ => $"/api/projects/{P}/credentials")),
        new("PUT", "/api/projects/{project}/credentials/{name}", Need.InProject(ProjectRole.Admin),
            Send(HttpMethod.Put, _ => $"/api/projects/{P}/credentials/api", _ => new { baseUrl = "http://127.0.0.1:9", token = "s3cret-matrix" })),
        new("DELETE", "/api/projects/{project}/credentials/{name}", Need.InProject(ProjectRole.Admin), async (w, _) =>
        {
            using var put = await w.Root.PutAsync($"/api/projects/{P}/credentials/api", AccessWorld.Json(new { baseUrl = "http://127.0.0.1:9" }));
            await AccessWorld.Expect(HttpStatusCode.NoContent, put);
            return new HttpRequestMessage(HttpMethod.Delete, $"/api/projects/{P}/credentials/api");
        }),
        new("GET", "/api/projects/{project}/members", Need.InProject(ProjectRole.Viewer), Send(HttpMethod.Get, _ => $"/api/projects/{P}/members")),
        new("PUT", "/api/projects/{project}/members/{username}", Need.InProject(ProjectRole.Admin),
            Send(HttpMethod.Put, _ => $"/api/projects/{P}/members/target.u", _ => new { role = "editor" })),
        new("DELETE", "/api/projects/{project}/members/{username}", Need.InProject(ProjectRole.Admin), async (w, _) =>
        {
            using var put = await w.Root.PutAsync($"/api/projects/{P}/members/target.u", AccessWorld.Json(new { role = "viewer" }));
            await AccessWorld.Expect(HttpStatusCode.OK, put);
            return new HttpRequestMessage(HttpMethod.Delete, $"/api/projects/{P}/members/target.u");
        }),
        new("GET", "/api/work-orders", Need.InProject(ProjectRole.Viewer), Send(HttpMethod.Get, _ => $"/api/work-orders?project={P}")),
        new("GET", "/api/work-orders/{id:guid}", Need.OnResource(ProjectRole.Viewer), Send(HttpMethod.Get, w => $"/api/work-orders/{w.WorkOrderId}")),
        new("POST", "/api/work-orders/{id:guid}/retry", Need.OnResource(ProjectRole.Editor), Send(HttpMethod.Post, w => $"/api/work-orders/{w.WorkOrderId}/retry"), HttpStatusCode.Conflict),
        new("GET", "/api/runs/{id:guid}", Need.OnResource(ProjectRole.Viewer), Send(HttpMethod.Get, w => $"/api/runs/{w.RunId}")),
        new("GET", "/api/runs/{id:guid}/logs", Need.OnResource(ProjectRole.Viewer), Send(HttpMethod.Get, w => $"/api/runs/{w.RunId}/logs")),
        new("POST", "/api/runs/{id:guid}/cancel", Need.OnResource(ProjectRole.Editor), Send(HttpMethod.Post, w => $"/api/runs/{w.RunId}/cancel"), HttpStatusCode.Conflict),
        new("GET", "/api/dataclips/{id:guid}", Need.OnResource(ProjectRole.Viewer), Send(HttpMethod.Get, w => $"/api/dataclips/{w.DataclipId}")),
        new("GET", "/api/audit", Need.InProject(ProjectRole.Admin), Send(HttpMethod.Get, _ => $"/api/audit?project={P}")),
        new("POST", "/api/auth/login", Need.Anyone, Send(HttpMethod.Post, _ => "/api/auth/login", _ => new { username = "target.u", password = AccessWorld.Password })),
        new("POST", "/api/auth/logout", Need.SignedIn, async (w, caller) =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/logout");
            // A fresh session, so the caller's own session survives for the rest of the matrix.
            if (caller != "anonymous") request.Headers.Authorization = new("Bearer", await w.LoginAsync(caller));
            return request;
        }),
        new("GET", "/api/me", Need.SignedIn, Send(HttpMethod.Get, _ => "/api/me")),
        new("GET", "/api/tokens", Need.SignedIn, Send(HttpMethod.Get, _ => "/api/tokens")),
        new("POST", "/api/tokens", Need.SignedIn, Send(HttpMethod.Post, _ => "/api/tokens", _ => new { name = "ci", expiresInDays = 30 })),
        new("DELETE", "/api/tokens/{id}", Need.SignedIn, async (w, caller) =>
        {
            var id = "nothere1";
            if (caller != "anonymous")
            {
                using var created = await w.As(caller).PostAsync("/api/tokens", AccessWorld.Json(new { name = "to revoke" }));
                id = (await AccessWorld.Expect(HttpStatusCode.Created, created)).GetProperty("id").GetString()!;
            }
            return new HttpRequestMessage(HttpMethod.Delete, $"/api/tokens/{id}");
        }),
        new("GET", "/api/users", Need.ServerAdmin, Send(HttpMethod.Get, _ => "/api/users")),
        new("POST", "/api/users", Need.ServerAdmin, Send(HttpMethod.Post, _ => "/api/users", _ => new { username = $"new{Interlocked.Increment(ref _unique)}" })),
        new("GET", "/api/users/{username}", Need.ServerAdmin, Send(HttpMethod.Get, _ => "/api/users/target.u")),
        new("PATCH", "/api/users/{username}", Need.ServerAdmin, Send(HttpMethod.Patch, _ => "/api/users/target.u", _ => new { disabled = false })),
        new("DELETE", "/api/users/{username}/sign-in-pause", Need.ServerAdmin, Send(HttpMethod.Delete, _ => "/api/users/target.u/sign-in-pause")),
    ];

    protected abstract Task<RunningServer> StartAsync();

    /// <summary>What <paramref name="caller"/> must get from an endpoint needing <paramref name="need"/>; null = allowed.</summary>
    private static HttpStatusCode? Expected(Need need, string caller)
    {
        if (need.Kind == "anyone") return null;
        if (caller == "anonymous") return HttpStatusCode.Unauthorized;
        if (need.Kind == "signed-in" || caller == "sadmin") return null;
        if (need.Kind == "server-admin") return HttpStatusCode.Forbidden;
        if (!ProjectRoles.TryParse(caller, out var role)) return need.Resource ? HttpStatusCode.NotFound : HttpStatusCode.Forbidden; // outsider
        return role >= need.Role ? null : HttpStatusCode.Forbidden;
    }

    [Fact]
    public async Task Every_api_endpoint_answers_each_kind_of_caller_as_its_role_requires()
    {
        await using var world = await AccessWorld.CreateAsync(await StartAsync());
        var mapped = MappedApiEndpoints(world.Server);
        var table = Entries.Select(e => $"{e.Method} {e.Pattern}").ToHashSet();
        var missing = mapped.Keys.Where(k => !table.Contains(k)).ToList();
        Assert.True(missing.Count == 0, $"These /api endpoints have no row in AuthorizationMatrixTests.Entries (add one with the access each needs): {string.Join("; ", missing)}");
        var stale = table.Where(k => !mapped.ContainsKey(k)).ToList();
        Assert.True(stale.Count == 0, $"These matrix rows name endpoints that no longer exist: {string.Join("; ", stale)}");

        var failures = new List<string>();
        foreach (var entry in Entries)
        {
            foreach (var caller in AccessWorld.Callers)
            {
                using var request = await entry.Request(world, caller);
                using var response = await world.As(caller).SendAsync(request);
                var expected = Expected(entry.Need, caller);
                var status = response.StatusCode;
                var ok = expected is { } refusal
                    ? status == refusal
                    : (int)status is >= 200 and < 300 || status == entry.AlsoAllowed;
                if (!ok)
                {
                    failures.Add($"{entry.Method} {entry.Pattern} as {caller}: expected {(expected is null ? "allowed" : ((int)expected).ToString(System.Globalization.CultureInfo.InvariantCulture))}, got {(int)status} {await response.Content.ReadAsStringAsync()}");
                }
                else if (expected is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
                {
                    var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
                    Assert.Equal("Authorization", problem.GetProperty("field").GetString());
                    Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task Every_api_endpoint_declares_an_access_requirement()
    {
        await using var server = await StartAsync();
        var undeclared = MappedApiEndpoints(server).Where(e => e.Value is null).Select(e => e.Key).ToList();
        Assert.True(undeclared.Count == 0, $"These /api endpoints declare no AccessRequirement (they answer 403 to everyone until they do): {string.Join("; ", undeclared)}");
    }

    /// <summary>"METHOD /pattern" → the endpoint's requirement (null when it declares none), for every /api endpoint.</summary>
    internal static Dictionary<string, AccessRequirement?> MappedApiEndpoints(RunningServer server)
    {
        var result = new Dictionary<string, AccessRequirement?>(StringComparer.Ordinal);
        foreach (var endpoint in server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = endpoint.RoutePattern.RawText ?? "";
            if (!pattern.StartsWith("/api/", StringComparison.Ordinal) && pattern != "/api") continue;
            foreach (var method in endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"])
            {
                result[$"{method} {pattern}"] = endpoint.Metadata.GetMetadata<AccessRequirement>();
            }
        }
        return result;
    }
}

public sealed class SqliteAuthorizationMatrixTests : AuthorizationMatrixTests
{
    protected override Task<RunningServer> StartAsync() => RunningServer.StartAsync();
}

[Collection(UsesPostgres.Name)]
public sealed class PostgresAuthorizationMatrixTests(PostgresServer postgres) : AuthorizationMatrixTests
{
    protected override async Task<RunningServer> StartAsync() => await RunningServer.StartAsync(await postgres.CreateDatabaseAsync("access_matrix"));
}
