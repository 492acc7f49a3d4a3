namespace Ferry.Adaptors;

/// <summary>The adaptors that ship with Ferry (one folder each in this project).</summary>
public static class BuiltInAdaptors
{
    private static readonly Lazy<AdaptorCatalog> Lazy = new(() => new AdaptorCatalog([typeof(BuiltInAdaptors).Assembly]));

    public static AdaptorCatalog Catalog => Lazy.Value;
}
