using Ferry.Storage;

namespace Ferry.Server.Auth;

/// <summary>Who sent an <c>/api</c> request: the user of the token, their server-admin flag and project roles.</summary>
public sealed class Caller(string username, bool isServerAdmin, ApiTokenRecord token, IReadOnlyDictionary<string, ProjectRole> roles)
{
    private const string ItemKey = "ferry.caller";

    public string Username { get; } = username;

    /// <summary>Server admins do everything: manage users, create projects, act in every project.</summary>
    public bool IsServerAdmin { get; } = isServerAdmin;

    /// <summary>The token the request came with (an API token or a login session).</summary>
    public ApiTokenRecord Token { get; } = token;

    /// <summary>The caller's role in each project they are a member of.</summary>
    public IReadOnlyDictionary<string, ProjectRole> Roles { get; } = roles;

    /// <summary>The caller's own role in <paramref name="project"/> (null: not a member; server admins may still act).</summary>
    public ProjectRole? RoleIn(string project) => Roles.TryGetValue(project, out var role) ? role : null;

    /// <summary>True when the caller may do what needs <paramref name="role"/> in <paramref name="project"/>.</summary>
    public bool Has(string project, ProjectRole role) => IsServerAdmin || RoleIn(project) >= role;

    /// <summary>Projects where the caller has at least <paramref name="role"/>; null for a server admin (every project).</summary>
    public IReadOnlyCollection<string>? ProjectsWith(ProjectRole role) =>
        IsServerAdmin ? null : Roles.Where(r => r.Value >= role).Select(r => r.Key).ToArray();

    /// <summary>The caller of a request that passed <c>ApiAuth</c>; null for an anonymous endpoint.</summary>
    public static Caller? Of(HttpContext http) => http.Items.TryGetValue(ItemKey, out var value) ? value as Caller : null;

    /// <summary>The username to record as the actor: the caller's, or <c>anonymous</c>.</summary>
    public static string ActorOf(HttpContext http) => Of(http)?.Username ?? "anonymous";

    internal void Attach(HttpContext http)
    {
        http.Items[ItemKey] = this;
        http.Items["ferry.user"] = Username; // the author recorded on deployed versions
    }
}
