namespace Ferry.Storage;

/// <summary>Where Ferry keeps its state. Build one with <see cref="FerryStore.Sqlite"/> or <see cref="FerryStore.Postgres"/>.</summary>
public sealed class StoreOptions
{
    /// <summary><c>sqlite</c> (embedded, the default for one node) or <c>postgres</c> (many nodes on one database).</summary>
    public required string Provider { get; init; }

    /// <summary>An ADO.NET connection string for the provider.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Dataclips larger than this (UTF-8 bytes) are not stored; the record keeps their size. Default 10 MB.</summary>
    public long MaxDataclipBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>The clock used for leases, availability and timestamps (tests pass their own).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
