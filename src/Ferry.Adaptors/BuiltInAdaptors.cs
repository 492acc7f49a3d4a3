namespace Ferry.Adaptors;

/// <summary>The adaptors that ship with Ferry (one folder each in this project).</summary>
public static class BuiltInAdaptors
{
    // Listed rather than scanned: scanning every type of the assembly costs the CLI ~30 ms at start.
    private static readonly Lazy<AdaptorCatalog> Lazy = new(() => new AdaptorCatalog(
    [
        typeof(Http.HttpAdaptor),
        typeof(Postgres.PostgresAdaptor),
    ]));

    public static AdaptorCatalog Catalog => Lazy.Value;
}
