namespace Ferry.Server.Auth;

/// <summary>Where an endpoint's project comes from, for <see cref="AccessRequirements.RequireProjectRole{TBuilder}"/>.</summary>
public enum ProjectFrom
{
    /// <summary>The <c>{project}</c> route value.</summary>
    Route,

    /// <summary>
    /// The <c>?project=</c> query parameter; without it any signed-in caller passes and the endpoint MUST limit what it
    /// returns to <see cref="Caller.ProjectsWith"/> (lists such as <c>/api/work-orders</c>).
    /// </summary>
    Query,

    /// <summary>The project of the work order <c>{id}</c> (loaded from the store).</summary>
    WorkOrder,

    /// <summary>The project of the run <c>{id}</c>.</summary>
    Run,

    /// <summary>The project of the dataclip <c>{id}</c>.</summary>
    Dataclip,
}

public enum AccessLevel
{
    /// <summary>No token needed (login).</summary>
    Anonymous,

    /// <summary>Any valid token; the endpoint acts on the caller's own things or filters by their projects.</summary>
    SignedIn,

    /// <summary>A role in the endpoint's project (server admins always pass).</summary>
    ProjectRole,

    /// <summary>Server admins only.</summary>
    ServerAdmin,
}

/// <summary>
/// Endpoint metadata saying who may call an <c>/api</c> endpoint; checked by <c>ApiAuth</c> before the handler runs.
/// An <c>/api</c> endpoint without one answers 403 (fail closed).
/// </summary>
public sealed record AccessRequirement(AccessLevel Level, ProjectRole Role = ProjectRole.Viewer, ProjectFrom From = ProjectFrom.Route)
{
    /// <summary>How the requirement reads in a 403 and in the OpenAPI document.</summary>
    public string Describe() => Level switch
    {
        AccessLevel.Anonymous => "anyone",
        AccessLevel.SignedIn => "any signed-in user",
        AccessLevel.ServerAdmin => "a server admin",
        _ => $"the {Role.Name()} role in the project",
    };
}

/// <summary>Declares an endpoint's <see cref="AccessRequirement"/>: <c>api.MapGet(…).RequireProjectRole(ProjectRole.Viewer)</c>.</summary>
public static class AccessRequirements
{
    public static TBuilder AllowAnonymousAccess<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AccessRequirement(AccessLevel.Anonymous));

    public static TBuilder RequireSignedIn<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AccessRequirement(AccessLevel.SignedIn));

    public static TBuilder RequireServerAdmin<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AccessRequirement(AccessLevel.ServerAdmin));

    /// <summary>At least <paramref name="role"/> in the project named by <paramref name="from"/>, or a server admin.</summary>
    public static TBuilder RequireProjectRole<TBuilder>(this TBuilder builder, ProjectRole role, ProjectFrom from = ProjectFrom.Route) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AccessRequirement(AccessLevel.ProjectRole, role, from));
}
