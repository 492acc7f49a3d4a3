using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Dapper;
using Ferry.Storage.Dialects;

namespace Ferry.Storage;

/// <summary>
/// Applies the embedded <c>Migrations/NNN_name.sql</c> files in order, in one transaction, and records each in
/// <c>schema_migrations</c>. A file <c>NNN_name.sqlite.sql</c> or <c>NNN_name.postgres.sql</c> replaces the shared one
/// for that database only. Re-opening an up-to-date database changes nothing.
/// </summary>
internal static partial class Migrator
{
    internal sealed record Migration(int Version, string Name, string Sql);

    /// <summary>The migrations this build knows, for <paramref name="dialect"/>, in order.</summary>
    public static IReadOnlyList<Migration> For(SqlDialect dialect)
    {
        var assembly = typeof(Migrator).Assembly;
        var byVersion = new SortedDictionary<int, (string Name, string? Shared, string? Specific)>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = ResourceName().Match(resource);
            if (!match.Success) continue;
            var version = int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture);
            var name = match.Groups["name"].Value;
            var target = match.Groups["dialect"].Value;
            if (target.Length > 0 && target != dialect.Name) continue;
            var sql = Read(assembly, resource);
            byVersion.TryGetValue(version, out var entry);
            if (entry.Name is not null && entry.Name != name)
            {
                throw new InvalidOperationException($"Migrations {version:D3}_{entry.Name} and {version:D3}_{name} share a number; give each migration its own.");
            }
            byVersion[version] = target.Length > 0 ? (name, entry.Shared, sql) : (name, sql, entry.Specific);
        }
        return byVersion.Select(kv => new Migration(kv.Key, kv.Value.Name, Expand(kv.Value.Specific ?? kv.Value.Shared!, dialect))).ToList();
    }

    public static async Task ApplyAsync(SqlDialect dialect, DateTimeOffset now, CancellationToken ct)
    {
        var migrations = For(dialect);
        var known = migrations.Count == 0 ? 0 : migrations[^1].Version;
        await using (var scope = await dialect.BeginWriteAsync(ct))
        {
            await dialect.LockMigrationsAsync(scope, ct);
            await scope.Connection.ExecuteAsync(new CommandDefinition(Expand("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    applied_at {{time}} NOT NULL
                )
                """, dialect), transaction: scope.Transaction, cancellationToken: ct));
            var applied = (await scope.Connection.QueryAsync<int>(new CommandDefinition(
                "SELECT version FROM schema_migrations ORDER BY version", transaction: scope.Transaction, cancellationToken: ct))).ToHashSet();
            var newest = applied.Count == 0 ? 0 : applied.Max();
            if (newest > known)
            {
                throw new InvalidOperationException(
                    $"This database was written by a newer Ferry: its schema is at version {newest}, this Ferry knows versions up to {known}. " +
                    "Upgrade Ferry to the version that wrote it (or newer), or point Ferry at another database.");
            }
            foreach (var migration in migrations.Where(m => !applied.Contains(m.Version)))
            {
                await scope.Connection.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: scope.Transaction, cancellationToken: ct));
                await scope.Connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @now)",
                    new { version = migration.Version, name = migration.Name, now = dialect.Time(now) }, scope.Transaction, cancellationToken: ct));
            }
            await scope.CommitAsync(ct);
        }
        await dialect.MakeDurableAsync();
    }

    private static string Expand(string sql, SqlDialect dialect) => Token().Replace(sql, m =>
        dialect.ColumnTypes.TryGetValue(m.Groups[1].Value, out var type)
            ? type
            : throw new InvalidOperationException($"Migration uses the unknown column type {{{{{m.Groups[1].Value}}}}}; known: {string.Join(", ", dialect.ColumnTypes.Keys)}."));

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"\.Migrations\.(?<version>\d{3})_(?<name>[a-z0-9_]+?)(\.(?<dialect>sqlite|postgres))?\.sql$")]
    private static partial Regex ResourceName();

    [GeneratedRegex(@"\{\{([a-z_]+)\}\}")]
    private static partial Regex Token();
}
