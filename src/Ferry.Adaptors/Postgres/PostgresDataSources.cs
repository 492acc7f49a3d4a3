using System.Collections.Concurrent;
using Ferry.Adaptors.Common;
using Ferry.Json;
using Npgsql;

namespace Ferry.Adaptors.Postgres;

/// <summary>
/// One <see cref="NpgsqlDataSource"/> (one connection pool) per connection string for the whole process: adaptor
/// instances live for one step run, pools outlive them.
/// </summary>
internal static class PostgresDataSources
{
    private static readonly ConcurrentDictionary<string, Lazy<NpgsqlDataSource>> Sources = new(StringComparer.Ordinal);

    public static NpgsqlDataSource Get(string connectionString) =>
        Sources.GetOrAdd(connectionString, cs => new Lazy<NpgsqlDataSource>(() => new NpgsqlDataSourceBuilder(cs).Build())).Value;

    /// <summary>The connection settings of a credential: connectionString, or host/port/database/username/password/sslmode.</summary>
    public static NpgsqlConnectionStringBuilder FromCredential(string adaptor, JsObject configuration)
    {
        var c = AdaptorOptions.Credential(adaptor, configuration);
        NpgsqlConnectionStringBuilder b;
        if (c.String("connectionString") is { } cs)
        {
            try
            {
                b = new NpgsqlConnectionStringBuilder(cs);
            }
            catch (ArgumentException e)
            {
                // The message names the bad keyword; the connection string itself may hold the password, so it is not shown.
                throw new PostgresAdaptorException(adaptor, "credential",
                    $"The {adaptor} credential's connectionString is not valid: {e.Message} Use the form \"Host=db.example.org;Port=5432;Database=hmis;Username=ferry;Password=…\", or the separate fields host, port, database, username, password.",
                    null, null);
            }
        }
        else
        {
            var host = c.String("host") ?? throw new PostgresAdaptorException(adaptor, "credential",
                $"The {adaptor} credential has neither 'connectionString' nor 'host'. Add \"host\" (and database, username, password) or a connectionString.", null, null);
            b = new NpgsqlConnectionStringBuilder
            {
                Host = host,
                Port = c.Int("port") ?? 5432,
                Database = c.String("database"),
                Username = c.String("username"),
                Password = c.String("password"),
            };
        }
        if (c.String("sslmode") is { } ssl)
        {
            if (!Enum.TryParse<SslMode>(ssl.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var mode))
                throw new PostgresAdaptorException(adaptor, "credential",
                    $"The {adaptor} credential's sslmode '{ssl}' is not one of disable, allow, prefer, require, verify-ca, verify-full.", null, null);
            b.SslMode = mode;
        }
        if (string.IsNullOrEmpty(b.ApplicationName)) b.ApplicationName = "ferry";
        return b;
    }
}
