using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ferry.Tests.Serving;

namespace Ferry.Tests.Access;

/// <summary>
/// A running server with one project (<c>acme</c>), a finished run, and one signed-in user per kind of caller:
/// outsider (no role), viewer, editor, admin, owner and a server admin (<c>sadmin</c>), plus <c>target</c> (a user
/// that endpoints act on). Every user's password is <see cref="Password"/>.
/// </summary>
public sealed class AccessWorld : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";
    public const string Project = "acme";

    public static readonly string[] Callers = ["anonymous", "outsider", "viewer", "editor", "admin", "owner", "sadmin"];

    private readonly ProjectFolders _folders = new();
    private readonly Dictionary<string, HttpClient> _clients = [];

    private AccessWorld(RunningServer server) => Server = server;

    public RunningServer Server { get; }

    /// <summary>The first start's admin (user <c>admin</c>, also owner of acme since it deployed it).</summary>
    public HttpClient Root => Server.Api;

    public string ProjectFolder { get; private set; } = "";

    public Guid WorkOrderId { get; private set; }

    public Guid RunId { get; private set; }

    public Guid DataclipId { get; private set; }

    public static async Task<AccessWorld> CreateAsync(RunningServer server)
    {
        var world = new AccessWorld(server);
        world.ProjectFolder = world._folders.Write(Project, "credentials:\n  api: { adaptor: http }\n", """
              flow:
                triggers:
                  hook: { type: webhook }
                steps:
                  hello:
                    code: state.data.done = true;
              calls:
                triggers:
                  hook: { type: webhook }
                steps:
                  call:
                    adaptor: http
                    credential: api
                    code: state.data.called = true;
            """);
        await server.DeployAsync(world.ProjectFolder);
        foreach (var name in new[] { "outsider", "viewer", "editor", "admin", "owner", "sadmin", "target" })
        {
            await Expect(HttpStatusCode.Created, await world.Root.PostAsJsonAsync("/api/users", new { username = UserOf(name), password = Password, serverAdmin = name == "sadmin" }));
        }
        foreach (var role in new[] { "viewer", "editor", "admin", "owner" })
        {
            await Expect(HttpStatusCode.OK, await world.Root.PutAsJsonAsync($"/api/projects/{Project}/members/{UserOf(role)}", new { role }));
        }
        world._clients["anonymous"] = world.NewClient(null);
        foreach (var caller in Callers.Skip(1)) world._clients[caller] = world.NewClient(await world.LoginAsync(caller));

        using var hook = await server.Client.PostAsJsonAsync($"/i/{Project}/flow/hook", new { n = 1 });
        var ids = await hook.Content.ReadFromJsonAsync<JsonElement>();
        world.WorkOrderId = ids.GetProperty("workOrderId").GetGuid();
        world.RunId = ids.GetProperty("runId").GetGuid();
        var run = await server.WaitForRunAsync(world.RunId);
        world.DataclipId = run.GetProperty("run").GetProperty("outputDataclipId").GetGuid();
        return world;
    }

    public HttpClient As(string caller) => _clients[caller];

    /// <summary>The username of a caller ("admin" itself is the first start's server admin).</summary>
    public static string UserOf(string caller) => caller + ".u";

    /// <summary>Signs in with the password; returns the session token.</summary>
    public async Task<string> LoginAsync(string caller)
    {
        using var response = await Server.Client.PostAsJsonAsync("/api/auth/login", new { username = UserOf(caller), password = Password });
        var body = await Expect(HttpStatusCode.OK, response);
        return body.GetProperty("token").GetString()!;
    }

    public HttpClient NewClient(string? token)
    {
        var client = new HttpClient { BaseAddress = Server.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    public static async Task<JsonElement> Expect(HttpStatusCode status, HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(text);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values) client.Dispose();
        await Server.DisposeAsync();
        _folders.Dispose();
    }
}
