namespace Ferry.Server.Auth;

/// <summary>
/// A user's role in one project, each including the rights of the ones below it: a viewer reads everything of the
/// project (versions, workflows, credential names, work orders, runs, logs, dataclips); an editor also deploys,
/// retries, cancels, re-runs, restores versions and dry-runs; an admin also sets and deletes credentials and manages
/// members below owner; an owner does everything, including managing owners.
/// </summary>
public enum ProjectRole
{
    Viewer = 1,
    Editor = 2,
    Admin = 3,
    Owner = 4,
}

public static class ProjectRoles
{
    /// <summary>The names used in the API and the database, lowest first.</summary>
    public static IReadOnlyList<string> Names { get; } = ["viewer", "editor", "admin", "owner"];

    public static string Name(this ProjectRole role) => Names[(int)role - 1];

    public static bool TryParse(string? text, out ProjectRole role)
    {
        var index = text is null ? -1 : Names.ToList().IndexOf(text);
        role = index < 0 ? default : (ProjectRole)(index + 1);
        return index >= 0;
    }
}
