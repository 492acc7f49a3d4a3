using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Ferry.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster for tests: <c>initdb</c> into a temp folder, <c>pg_ctl start</c> on a free port of
/// 127.0.0.1 with fsync off, trust authentication on loopback (plus one password-authenticated role), stopped with
/// <c>pg_ctl stop -m immediate</c> and deleted on dispose. As root (initdb refuses root) the folder is given to the
/// <c>postgres</c> user and the tools run through <c>runuser</c>. Share it with
/// <c>[Collection(UsesPostgres.Name)]</c> and give each test class its own database with
/// <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    /// <summary>The superuser (trust authentication on loopback).</summary>
    public const string SuperUser = "postgres";

    /// <summary>A role that must log in with <see cref="PasswordUserPassword"/> (scram-sha-256).</summary>
    public const string PasswordUser = "ferry_pw";

    public const string PasswordUserPassword = "Pw-secret-7781";

    private static int _databaseCounter;
    private string _root = "";
    private string _binDir = "";
    private string _options = "";
    private bool _asPostgresUser;
    private bool _started;

    public string Host { get; } = "127.0.0.1";

    public int Port { get; private set; }

    public string DataDirectory => Path.Combine(_root, "data");

    /// <summary>The server log (useful when a test fails on the server side).</summary>
    public string LogFile => Path.Combine(_root, "server.log");

    /// <summary>A connection string for <paramref name="database"/> (superuser unless a user is given).</summary>
    public string ConnectionString(string database, string user = SuperUser, string? password = null)
    {
        var b = new NpgsqlConnectionStringBuilder { Host = Host, Port = Port, Database = database, Username = user, Timeout = 10 };
        if (password is not null) b.Password = password;
        return b.ConnectionString;
    }

    /// <summary>Creates a fresh database named after <paramref name="prefix"/> and returns its superuser connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var clean = new string(prefix.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        var name = $"{(clean.Length > 40 ? clean[..40] : clean)}_{Interlocked.Increment(ref _databaseCounter)}";
        await ExecuteAsync("postgres", $"CREATE DATABASE \"{name}\"");
        await ExecuteAsync(name, $"GRANT ALL ON SCHEMA public TO {PasswordUser}");
        return ConnectionString(name);
    }

    /// <summary>Runs SQL as the superuser on a non-pooled connection.</summary>
    public async Task ExecuteAsync(string database, string sql)
    {
        await using var conn = new NpgsqlConnection(ConnectionString(database) + ";Pooling=false");
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task InitializeAsync()
    {
        _binDir = FindBinDirectory();
        _asPostgresUser = Environment.UserName == "root";
        _root = Path.Combine(Path.GetTempPath(), "ferry-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_root);
        Directory.CreateDirectory(Path.Combine(_root, "sock"));
        if (_asPostgresUser) await RunAsync("chown", ["-R", "postgres:postgres", _root], asPostgres: false);

        await RunAsync(Path.Combine(_binDir, "initdb"),
            ["-D", DataDirectory, "-U", SuperUser, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"], asPostgres: _asPostgresUser);
        await File.WriteAllTextAsync(Path.Combine(DataDirectory, "pg_hba.conf"), $"""
            local all all trust
            host all {PasswordUser} 127.0.0.1/32 scram-sha-256
            host all all 127.0.0.1/32 trust
            """);
        if (_asPostgresUser) await RunAsync("chown", ["postgres:postgres", Path.Combine(DataDirectory, "pg_hba.conf")], asPostgres: false);

        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAsync().GetAwaiter().GetResult();
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            var options = _options = $"-p {Port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={Path.Combine(_root, "sock")} " +
                          "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB";
            try
            {
                await RunAsync(Path.Combine(_binDir, "pg_ctl"), ["start", "-w", "-t", "60", "-D", DataDirectory, "-l", LogFile, "-o", options], asPostgres: _asPostgresUser);
                _started = true;
                break;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Another process took the port between our check and the server's bind; try another.
            }
        }
        await ExecuteAsync("postgres", $"CREATE ROLE {PasswordUser} LOGIN PASSWORD '{PasswordUserPassword}'");
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Takes the server down (a database outage) until <see cref="ResumeAsync"/>. Tests of the postgres collection run
    /// one at a time, so no other test sees the outage; always resume in a finally.
    /// </summary>
    public async Task PauseAsync()
    {
        await RunAsync(Path.Combine(_binDir, "pg_ctl"), ["stop", "-m", "fast", "-w", "-D", DataDirectory], asPostgres: _asPostgresUser);
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Starts the server again on the same port after <see cref="PauseAsync"/>.</summary>
    public Task ResumeAsync() =>
        RunAsync(Path.Combine(_binDir, "pg_ctl"), ["start", "-w", "-t", "60", "-D", DataDirectory, "-l", LogFile, "-o", _options], asPostgres: _asPostgresUser);

    private async Task StopAsync()
    {
        if (!_started) return;
        _started = false;
        NpgsqlConnection.ClearAllPools();
        await RunAsync(Path.Combine(_binDir, "pg_ctl"), ["stop", "-m", "immediate", "-w", "-D", DataDirectory], asPostgres: _asPostgresUser);
    }

    private static string FindBinDirectory()
    {
        foreach (var candidate in Candidates())
        {
            if (File.Exists(Path.Combine(candidate, "initdb")) && File.Exists(Path.Combine(candidate, "pg_ctl"))) return candidate;
        }
        throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found via `pg_config --bindir` or /usr/lib/postgresql/*/bin. " +
            "Install them with `apt-get install -y postgresql-15` (Debian/Ubuntu) and run the tests again.");

        static IEnumerable<string> Candidates()
        {
            string? fromPgConfig = null;
            try
            {
                using var p = Process.Start(new ProcessStartInfo("pg_config", "--bindir") { RedirectStandardOutput = true, RedirectStandardError = true });
                if (p is not null)
                {
                    fromPgConfig = p.StandardOutput.ReadToEnd().Trim();
                    p.WaitForExit();
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // pg_config is not installed; fall back to the Debian layout.
            }
            if (!string.IsNullOrEmpty(fromPgConfig)) yield return fromPgConfig;
            if (Directory.Exists("/usr/lib/postgresql"))
            {
                foreach (var dir in Directory.GetDirectories("/usr/lib/postgresql").OrderDescending()) yield return Path.Combine(dir, "bin");
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args, bool asPostgres)
    {
        var psi = new ProcessStartInfo(asPostgres ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", file }) psi.ArgumentList.Add(a);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}.");
        // pg_ctl start leaves the server holding the pipes; read until the tool itself exits.
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(timeout.Token);
        if (p.ExitCode != 0)
        {
            string text;
            lock (output) text = output.ToString();
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed with exit code {p.ExitCode}:\n{text}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class UsesPostgres : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
