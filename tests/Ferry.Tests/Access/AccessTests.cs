using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Ferry.Server;
using Ferry.Server.Auth;
using Ferry.Storage;
using Ferry.Tests.Infrastructure;
using Ferry.Tests.Serving;
using Ferry.Tests.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Ferry.Tests.Access;

/// <summary>People and access through the real HTTP pipeline: tokens, sign-in, roles, the audit log, deleted credentials.</summary>
public abstract class AccessTests
{
    protected abstract Task<RunningServer> StartAsync(Action<ServerOptions>? configure = null);

    private async Task<AccessWorld> WorldAsync(Action<ServerOptions>? configure = null) => await AccessWorld.CreateAsync(await StartAsync(configure));

    private static async Task<JsonElement> AuditAsync(HttpClient client, string query = "")
    {
        using var response = await client.GetAsync("/api/audit?limit=500" + query);
        return (await AccessWorld.Expect(HttpStatusCode.OK, response)).GetProperty("items");
    }

    [Fact]
    public async Task An_unknown_api_path_answers_404_for_everyone_not_403()
    {
        await using var server = await StartAsync();

        using var signedIn = await server.Api.PostAsync("/api/no-such-thing", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        using var anonymous = await server.Client.PostAsync("/api/no-such-thing", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, signedIn.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, anonymous.StatusCode);
    }

    [Fact]
    public async Task Expired_and_revoked_tokens_get_a_401_that_says_which_and_what_to_do()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await WorldAsync(o => o.Clock = clock);
        using var created = await world.As("viewer").PostAsync("/api/tokens", AccessWorld.Json(new { name = "nightly", expiresInDays = 1 }));
        var token = (await AccessWorld.Expect(HttpStatusCode.Created, created)).GetProperty("token").GetString()!;
        using var expiring = world.NewClient(token);
        using var session = world.NewClient(await world.LoginAsync("editor"));

        using var beforeExpiry = await expiring.GetAsync("/api/me");
        using var logout = await world.As("owner").PostAsync("/api/auth/logout", null);
        using var afterLogout = await world.As("owner").GetAsync("/api/me");
        clock.Advance(TimeSpan.FromDays(2));
        using var expired = await expiring.GetAsync("/api/me");
        using var sessionExpired = await session.GetAsync("/api/me");
        using var stillGood = await world.Root.GetAsync("/api/me");

        Assert.Equal(HttpStatusCode.OK, beforeExpiry.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        var detail = (await expired.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
        Assert.Contains("expired at", detail);
        Assert.Contains("POST /api/tokens", detail);
        Assert.Equal(HttpStatusCode.Unauthorized, sessionExpired.StatusCode); // sessions last 12 hours
        Assert.Equal(HttpStatusCode.OK, stillGood.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, afterLogout.StatusCode);
        var revoked = await afterLogout.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("was revoked at", revoked.GetProperty("detail").GetString());
        Assert.Equal("Authorization", revoked.GetProperty("field").GetString());
        Assert.Equal("Bearer", afterLogout.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task A_revoked_api_token_and_a_disabled_user_are_refused()
    {
        await using var world = await WorldAsync();
        using var created = await world.As("editor").PostAsync("/api/tokens", AccessWorld.Json(new { name = "ci" }));
        var body = await AccessWorld.Expect(HttpStatusCode.Created, created);
        using var ci = world.NewClient(body.GetProperty("token").GetString());
        using var othersRevoke = await world.As("viewer").DeleteAsync($"/api/tokens/{body.GetProperty("id").GetString()}");
        using var revoke = await world.As("editor").DeleteAsync($"/api/tokens/{body.GetProperty("id").GetString()}");
        using var afterRevoke = await ci.GetAsync("/api/me");
        using var disable = await world.Root.PatchAsync("/api/users/viewer.u", AccessWorld.Json(new { disabled = true }));
        using var disabled = await world.As("viewer").GetAsync("/api/me");
        using var disabledLogin = await world.Server.Client.PostAsJsonAsync("/api/auth/login", new { username = "viewer.u", password = AccessWorld.Password });

        Assert.Equal(HttpStatusCode.NotFound, othersRevoke.StatusCode); // another user's token id is not theirs to see
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, afterRevoke.StatusCode);
        Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, disabled.StatusCode);
        Assert.Contains("disabled", await disabled.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, disabledLogin.StatusCode);
    }

    [Fact]
    public async Task Repeated_failed_logins_pause_sign_in_with_429_and_retry_after_even_for_the_right_password()
    {
        await using var world = await WorldAsync();
        for (var i = 0; i < LoginThrottle.FreeFailures; i++)
        {
            using var wrong = await world.Server.Client.PostAsJsonAsync("/api/auth/login", new { username = "owner.u", password = "not-the-password" });
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using var paused = await world.Server.Client.PostAsJsonAsync("/api/auth/login", new { username = "owner.u", password = AccessWorld.Password });

        Assert.Equal(HttpStatusCode.TooManyRequests, paused.StatusCode);
        Assert.True(int.Parse(paused.Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture) is > 0 and <= 30);
        var problem = await paused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("username", problem.GetProperty("field").GetString());
        var audit = await AuditAsync(world.Root);
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "login.throttled" && r.GetProperty("target").GetString() == "owner.u");
    }

    [Fact]
    public async Task A_server_admin_sees_and_lifts_a_sign_in_pause_and_a_new_password_lifts_it_too()
    {
        await using var world = await WorldAsync();
        async Task PauseAsync()
        {
            for (var i = 0; i < LoginThrottle.FreeFailures; i++)
            {
                using var wrong = await world.Server.Client.PostAsJsonAsync("/api/auth/login", new { username = "owner.u", password = "not-the-password" });
                Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            }
            using var paused = await world.Server.Client.PostAsJsonAsync("/api/auth/login", new { username = "owner.u", password = AccessWorld.Password });
            Assert.Equal(HttpStatusCode.TooManyRequests, paused.StatusCode);
            Assert.Contains("sign-in-pause", (await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        }

        await PauseAsync();
        using var shown = await world.Root.GetAsync("/api/users/owner.u");
        Assert.True((await AccessWorld.Expect(HttpStatusCode.OK, shown)).GetProperty("signInPausedSeconds").GetInt32() is > 0 and <= 30);
        using var byEditor = await world.As("editor").DeleteAsync("/api/users/owner.u/sign-in-pause");
        using var lift = await world.Root.DeleteAsync("/api/users/owner.u/sign-in-pause");
        using var unknown = await world.Root.DeleteAsync("/api/users/nobody.u/sign-in-pause");
        using var afterLift = await world.Server.Client.PostAsJsonAsync("/api/auth/login", new { username = "owner.u", password = AccessWorld.Password });
        using var shownAfter = await world.Root.GetAsync("/api/users/owner.u");

        Assert.Equal(HttpStatusCode.Forbidden, byEditor.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, lift.StatusCode);
        Assert.Equal("username", (await AccessWorld.Expect(HttpStatusCode.NotFound, unknown)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.OK, afterLift.StatusCode);
        Assert.Equal(JsonValueKind.Null, (await AccessWorld.Expect(HttpStatusCode.OK, shownAfter)).GetProperty("signInPausedSeconds").ValueKind);
        var audit = await AuditAsync(world.Root);
        var lifted = Assert.Single(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "user.sign-in-pause.lift");
        Assert.Equal("owner.u", lifted.GetProperty("target").GetString());

        // Paused again; an admin sets a new password, and the owner signs in with it at once.
        await PauseAsync();
        const string newPassword = "a brand new passphrase";
        using var reset = await world.Root.PatchAsync("/api/users/owner.u", AccessWorld.Json(new { password = newPassword }));
        using var withNew = await world.Server.Client.PostAsJsonAsync("/api/auth/login", new { username = "owner.u", password = newPassword });
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withNew.StatusCode);
    }

    [Fact]
    public async Task Failed_logins_get_one_answer_and_are_audited_without_the_password()
    {
        await using var world = await WorldAsync();
        const string wrongPassword = "Wr0ng-Passw0rd-Value";
        using var unknown = await world.Server.Client.PostAsJsonAsync("/api/auth/login", new { username = "ghost", password = wrongPassword });
        using var wrong = await world.Server.Client.PostAsJsonAsync("/api/auth/login", new { username = "editor.u", password = wrongPassword });
        using var good = await world.Server.Client.PostAsJsonAsync("/api/auth/login", new { username = "editor.u", password = AccessWorld.Password });

        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        var a = await unknown.Content.ReadFromJsonAsync<JsonElement>();
        var b = await wrong.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(a.GetProperty("detail").GetString(), b.GetProperty("detail").GetString());
        var session = await AccessWorld.Expect(HttpStatusCode.OK, good);
        Assert.StartsWith("ferry_", session.GetProperty("token").GetString());
        Assert.True(session.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(11));

        var audit = await AuditAsync(world.Root);
        var text = audit.ToString();
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "login.failed" && r.GetProperty("target").GetString() == "ghost");
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "login.failed" && r.GetProperty("target").GetString() == "editor.u");
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "login" && r.GetProperty("actor").GetString() == "editor.u");
        Assert.DoesNotContain(wrongPassword, text);
        Assert.DoesNotContain(AccessWorld.Password, text);
        Assert.DoesNotContain(session.GetProperty("token").GetString()!, text);
    }

    [Fact]
    public async Task A_new_token_is_shown_once_and_only_its_hash_is_stored()
    {
        await using var world = await WorldAsync();
        using var created = await world.As("admin").PostAsync("/api/tokens", AccessWorld.Json(new { name = "deploy bot", expiresInDays = 90 }));
        var body = await AccessWorld.Expect(HttpStatusCode.Created, created);
        var token = body.GetProperty("token").GetString()!;
        var id = body.GetProperty("id").GetString()!;

        var listed = await world.As("admin").GetStringAsync("/api/tokens");
        var me = await world.NewClient(token).GetFromJsonAsync<JsonElement>("/api/me");
        var stored = await world.Server.Services.GetRequiredService<FerryStore>().GetApiTokenAsync(id);

        Assert.Contains($"\"id\":\"{id}\"", listed);
        Assert.DoesNotContain(token, listed);
        Assert.Equal("admin.u", me.GetProperty("username").GetString());
        Assert.Equal("admin", me.GetProperty("projects")[0].GetProperty("role").GetString());
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token))), stored!.HashHex);
        Assert.Equal("admin.u", stored.Username);
        foreach (var file in Directory.EnumerateFiles(world.Server.DataDirectory, "ferry.db*"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            var content = await reader.ReadToEndAsync();
            Assert.DoesNotContain(token, content);
            Assert.DoesNotContain(AccessWorld.Password, content);
        }
    }

    [Fact]
    public async Task Deploys_credential_changes_retries_and_cancels_are_audited_with_before_and_after_and_no_secret_values()
    {
        await using var world = await WorldAsync();
        const string secret = "Sup3r-Secret-Audit-Value";
        using var set1 = await world.As("admin").PutAsync($"/api/projects/{AccessWorld.Project}/credentials/api", AccessWorld.Json(new { baseUrl = "http://127.0.0.1:9" }));
        using var set2 = await world.As("admin").PutAsync($"/api/projects/{AccessWorld.Project}/credentials/api", AccessWorld.Json(new { baseUrl = "http://127.0.0.1:9", token = secret }));
        using var delete = await world.As("owner").DeleteAsync($"/api/projects/{AccessWorld.Project}/credentials/api");
        using var retry = await world.As("editor").PostAsync($"/api/work-orders/{world.WorkOrderId}/retry", null);
        var retried = await AccessWorld.Expect(HttpStatusCode.Accepted, retry);
        using var cancel = await world.As("editor").PostAsync($"/api/runs/{retried.GetProperty("runId").GetGuid()}/cancel", null);

        Assert.Equal(HttpStatusCode.NoContent, set1.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, set2.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.True(cancel.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Conflict);
        var audit = await AuditAsync(world.As("admin"));
        JsonElement Row(string action, int skip = 0) => audit.EnumerateArray().Where(r => r.GetProperty("action").GetString() == action).Reverse().Skip(skip).First();

        var deploy = Row("version.deploy");
        Assert.Equal("admin", deploy.GetProperty("actor").GetString());
        Assert.Equal(1, deploy.GetProperty("after").GetProperty("version").GetInt32());
        var firstSet = Row("credential.set");
        Assert.Equal(JsonValueKind.Null, firstSet.GetProperty("before").ValueKind);
        Assert.Equal("[\"baseUrl\"]", firstSet.GetProperty("after").GetProperty("fields").GetRawText());
        var secondSet = Row("credential.set", 1);
        Assert.Equal("admin.u", secondSet.GetProperty("actor").GetString());
        Assert.Equal("[\"baseUrl\"]", secondSet.GetProperty("before").GetProperty("fields").GetRawText());
        Assert.Equal("[\"baseUrl\",\"token\"]", secondSet.GetProperty("after").GetProperty("fields").GetRawText());
        var deleted = Row("credential.delete");
        Assert.Equal("owner.u", deleted.GetProperty("actor").GetString());
        Assert.Equal("[\"baseUrl\",\"token\"]", deleted.GetProperty("before").GetProperty("fields").GetRawText());
        Assert.Equal(world.WorkOrderId.ToString(), Row("work_order.retry").GetProperty("target").GetString());
        if (cancel.StatusCode == HttpStatusCode.Accepted) Assert.Equal("editor.u", Row("run.cancel").GetProperty("actor").GetString());
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "member.set");
        Assert.DoesNotContain(secret, audit.ToString());
        Assert.DoesNotContain("127.0.0.1:9", audit.ToString());
    }

    [Fact]
    public async Task A_run_that_needs_a_deleted_credential_fails_naming_it_and_saying_to_set_it_again()
    {
        await using var world = await WorldAsync();
        using var set = await world.Root.PutAsync($"/api/projects/{AccessWorld.Project}/credentials/api", AccessWorld.Json(new { baseUrl = "http://127.0.0.1:9" }));
        using var delete = await world.Root.DeleteAsync($"/api/projects/{AccessWorld.Project}/credentials/api");
        using var deleteAgain = await world.Root.DeleteAsync($"/api/projects/{AccessWorld.Project}/credentials/api");
        using var hook = await world.Server.Client.PostAsJsonAsync($"/i/{AccessWorld.Project}/calls/hook", new { n = 2 });
        var ids = await AccessWorld.Expect(HttpStatusCode.Accepted, hook);

        var run = (await world.Server.WaitForRunAsync(ids.GetProperty("runId").GetGuid())).GetProperty("run");

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, deleteAgain.StatusCode);
        Assert.Contains("\"field\":\"name\"", await deleteAgain.Content.ReadAsStringAsync());
        Assert.NotEqual("success", run.GetProperty("status").GetString());
        var error = run.GetProperty("error").GetString()!;
        Assert.Contains("credential 'api'", error);
        Assert.Contains("Set it again with PUT /api/projects/acme/credentials/api", error);
    }

    [Fact]
    public async Task Only_server_admins_create_projects_and_the_deployer_becomes_its_owner()
    {
        await using var world = await WorldAsync();
        var folder = Path.Combine(Path.GetTempPath(), "ferry-access-" + Guid.NewGuid().ToString("N")[..8], "fresh");
        Directory.CreateDirectory(folder);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "ferry.yaml"), "name: fresh\nworkflows:\n  w:\n    steps:\n      s:\n        code: state.ok = true;\n");
            var bundle = Ferry.Deploy.ProjectBundle.FromDirectory(folder).ToJson();
            using var byEditor = await world.As("editor").PostAsync("/api/projects/fresh/versions", new StringContent(bundle, Encoding.UTF8, "application/json"));
            using var bySadmin = await world.As("sadmin").PostAsync("/api/projects/fresh/versions", new StringContent(bundle, Encoding.UTF8, "application/json"));
            var members = await world.As("sadmin").GetFromJsonAsync<JsonElement>("/api/projects/fresh/members");
            var editorProjects = await world.As("editor").GetFromJsonAsync<JsonElement>("/api/projects");

            Assert.Equal(HttpStatusCode.Forbidden, byEditor.StatusCode);
            Assert.Contains("editor role in project 'fresh'", await byEditor.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.Created, bySadmin.StatusCode);
            Assert.Equal(("sadmin.u", "owner"), (members[0].GetProperty("username").GetString(), members[0].GetProperty("role").GetString()));
            Assert.Equal([AccessWorld.Project], editorProjects.EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    [Fact]
    public async Task Lists_show_only_the_callers_projects_and_unseen_runs_answer_like_unknown_ones()
    {
        await using var world = await WorldAsync();
        using var outsiderOrders = await world.As("outsider").GetAsync("/api/work-orders");
        using var viewerOrders = await world.As("viewer").GetAsync("/api/work-orders");
        using var outsiderRun = await world.As("outsider").GetAsync($"/api/runs/{world.RunId}");
        using var unknownRun = await world.As("viewer").GetAsync($"/api/runs/{Guid.Empty}");
        using var outsiderProjects = await world.As("outsider").GetAsync("/api/projects");

        Assert.Empty((await AccessWorld.Expect(HttpStatusCode.OK, outsiderOrders)).GetProperty("items").EnumerateArray());
        Assert.Single((await AccessWorld.Expect(HttpStatusCode.OK, viewerOrders)).GetProperty("items").EnumerateArray());
        Assert.Empty((await AccessWorld.Expect(HttpStatusCode.OK, outsiderProjects)).EnumerateArray());
        var hidden = await outsiderRun.Content.ReadFromJsonAsync<JsonElement>();
        var unknown = await unknownRun.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.NotFound, outsiderRun.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownRun.StatusCode);
        Assert.Equal($"No run {world.RunId}.", hidden.GetProperty("detail").GetString());
        Assert.Equal($"No run {Guid.Empty}.", unknown.GetProperty("detail").GetString());
        Assert.Equal(hidden.GetProperty("title").GetString(), unknown.GetProperty("title").GetString());
    }

    [Fact]
    public async Task The_audit_log_is_for_server_admins_and_the_admins_of_each_project()
    {
        await using var world = await WorldAsync();
        var all = await AuditAsync(world.As("sadmin"));
        var projectAdmin = await AuditAsync(world.As("admin"));
        using var viewer = await world.As("viewer").GetAsync("/api/audit");
        using var viewerOfProject = await world.As("viewer").GetAsync($"/api/audit?project={AccessWorld.Project}");
        using var badLimit = await world.As("sadmin").GetAsync("/api/audit?limit=0");
        using var badAfter = await world.As("sadmin").GetAsync("/api/audit?after=abc");
        using var page = await world.As("sadmin").GetAsync("/api/audit?limit=2");
        var first = await AccessWorld.Expect(HttpStatusCode.OK, page);
        using var next = await world.As("sadmin").GetAsync($"/api/audit?limit=2&after={first.GetProperty("next").GetString()}");

        Assert.Contains(all.EnumerateArray(), r => r.GetProperty("action").GetString() == "user.create");
        Assert.All(projectAdmin.EnumerateArray(), r => Assert.Equal(AccessWorld.Project, r.GetProperty("project").GetString()));
        Assert.NotEmpty(projectAdmin.EnumerateArray());
        Assert.Equal(HttpStatusCode.Forbidden, viewer.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, viewerOfProject.StatusCode);
        Assert.Contains("\"field\":\"limit\"", await badLimit.Content.ReadAsStringAsync());
        Assert.Contains("\"field\":\"after\"", await badAfter.Content.ReadAsStringAsync());
        var second = await AccessWorld.Expect(HttpStatusCode.OK, next);
        Assert.True(first.GetProperty("items")[1].GetProperty("seq").GetInt64() > second.GetProperty("items")[0].GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task Bad_user_member_and_token_input_is_refused_naming_the_field()
    {
        await using var world = await WorldAsync();
        async Task<(HttpStatusCode Status, string Body)> Send(HttpClient client, HttpMethod method, string url, string body)
        {
            using var response = await client.SendAsync(new HttpRequestMessage(method, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        var typo = await Send(world.Root, HttpMethod.Post, "/api/users", """{"username":"zed","passwrod":"long enough password"}""");
        var weak = await Send(world.Root, HttpMethod.Post, "/api/users", """{"username":"zed","password":"short"}""");
        var badName = await Send(world.Root, HttpMethod.Post, "/api/users", """{"username":"Zed Smith"}""");
        var duplicate = await Send(world.Root, HttpMethod.Post, "/api/users", """{"username":"viewer.u"}""");
        var malformed = await Send(world.Root, HttpMethod.Post, "/api/users", """{"username":""");
        var role = await Send(world.Root, HttpMethod.Put, "/api/projects/acme/members/target.u", """{"role":"editr"}""");
        var noUser = await Send(world.Root, HttpMethod.Put, "/api/projects/acme/members/nobody", """{"role":"editor"}""");
        var ownerByAdmin = await Send(world.As("admin"), HttpMethod.Put, "/api/projects/acme/members/target.u", """{"role":"owner"}""");
        var days = await Send(world.As("viewer"), HttpMethod.Post, "/api/tokens", """{"name":"x","expiresInDays":0}""");
        var demoteAdmin = await Send(world.Root, HttpMethod.Patch, "/api/users/admin", """{"serverAdmin":false}""");
        var lastAdmin = await Send(world.As("sadmin"), HttpMethod.Patch, "/api/users/sadmin.u", """{"disabled":true}""");
        var nowLast = await Send(world.As("sadmin"), HttpMethod.Patch, "/api/users/sadmin.u", """{"serverAdmin":false}""");
        await Send(world.Root, HttpMethod.Delete, "/api/projects/acme/members/admin", "");
        var lastOwner = await Send(world.As("owner"), HttpMethod.Delete, "/api/projects/acme/members/owner.u", "");

        Assert.Equal(HttpStatusCode.BadRequest, typo.Status);
        Assert.Contains("Did you mean 'password'?", typo.Body);
        Assert.Contains("\"field\":\"passwrod\"", typo.Body);
        Assert.Equal(HttpStatusCode.BadRequest, weak.Status);
        Assert.Contains("\"field\":\"password\"", weak.Body);
        Assert.Contains("\"field\":\"username\"", badName.Body);
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.Status);
        Assert.Contains("\"field\":\"body\"", malformed.Body);
        Assert.Contains("Did you mean 'editor'?", role.Body);
        Assert.Equal(HttpStatusCode.NotFound, noUser.Status);
        Assert.Contains("\"field\":\"username\"", noUser.Body);
        Assert.Equal(HttpStatusCode.Forbidden, ownerByAdmin.Status);
        Assert.Contains("needs the owner role", ownerByAdmin.Body);
        Assert.Contains("\"field\":\"expiresInDays\"", days.Body);
        Assert.Equal(HttpStatusCode.OK, demoteAdmin.Status); // 'sadmin.u' is still a server admin
        Assert.Equal(HttpStatusCode.Conflict, lastAdmin.Status);
        Assert.Contains("\"field\":\"disabled\"", lastAdmin.Body);
        Assert.Equal(HttpStatusCode.Conflict, nowLast.Status);
        Assert.Contains("only enabled server admin", nowLast.Body);
        Assert.Equal(HttpStatusCode.Conflict, lastOwner.Status);
        Assert.Contains("only owner", lastOwner.Body);
    }
}

public sealed class SqliteAccessTests : AccessTests
{
    protected override Task<RunningServer> StartAsync(Action<ServerOptions>? configure = null) => RunningServer.StartAsync(null, configure);
}

[Collection(UsesPostgres.Name)]
public sealed class PostgresAccessTests(PostgresServer postgres) : AccessTests
{
    protected override async Task<RunningServer> StartAsync(Action<ServerOptions>? configure = null) =>
        await RunningServer.StartAsync(await postgres.CreateDatabaseAsync("access"), configure);
}

/// <summary>Fail closed: an /api endpoint mapped without a requirement is refused, whoever calls it.</summary>
public sealed class FailClosedTests
{
    [Fact]
    public async Task An_api_endpoint_without_an_access_requirement_answers_403_to_everyone()
    {
        var data = Directory.CreateTempSubdirectory("ferry-failclosed").FullName;
        var server = await FerryServer.BuildAsync(new ServerOptions { DataDirectory = data, Urls = "http://127.0.0.1:0" });
        try
        {
            server.App.MapGet("/api/unguarded", () => "secret stuff");
            await server.App.StartAsync();
            using var client = new HttpClient { BaseAddress = new Uri(server.App.Urls.First()) };
            using var anonymous = await client.GetAsync("/api/unguarded");
            client.DefaultRequestHeaders.Authorization = new("Bearer", server.InitialToken);
            using var admin = await client.GetAsync("/api/unguarded");

            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
            var body = await admin.Content.ReadAsStringAsync();
            Assert.Contains("declares no access requirement", body);
            Assert.DoesNotContain("secret stuff", body);
        }
        finally
        {
            await server.App.StopAsync();
            await server.App.DisposeAsync();
            await server.Store.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }
}
