using System.Security.Cryptography;
using System.Text;

namespace Ferry.Server.Credentials;

/// <summary>The 32-byte AES-256 key that encrypts stored credentials, with a short id written into each envelope.</summary>
public sealed class MasterKey
{
    /// <summary>Environment variable that holds the key (base64 of 32 bytes); it wins over the key file.</summary>
    public const string EnvironmentVariable = "FERRY_MASTER_KEY";

    /// <summary>Key file name inside the data directory.</summary>
    public const string FileName = "master.key";

    public MasterKey(byte[] key, string origin)
    {
        if (key.Length != 32)
            throw new CredentialVaultException($"The master key from {origin} is {key.Length} bytes; it must be 32 bytes (AES-256). Generate one with: openssl rand -base64 32");
        Key = key;
        Origin = origin;
        Id = "k" + Convert.ToHexStringLower(SHA256.HashData([.. "ferry-master-key-id:"u8, .. key]))[..8];
    }

    internal byte[] Key { get; }

    /// <summary>Where the key came from: the environment variable's name or the key file's path.</summary>
    public string Origin { get; }

    /// <summary>A fingerprint of the key (not the key): tells which key encrypted a value.</summary>
    public string Id { get; }

    /// <summary>A new random key (for tests and first start).</summary>
    public static MasterKey Generate(string origin = "generated") => new(RandomNumberGenerator.GetBytes(32), origin);

    /// <summary>
    /// Loads the key from <paramref name="environmentValue"/> (the value of <see cref="EnvironmentVariable"/>) or,
    /// when that is empty, from <c>&lt;dataDirectory&gt;/master.key</c>, creating the file (mode 0600) on first start.
    /// The returned notice, when not null, must be shown to the operator (it says to back the file up, or that its
    /// permissions are too open).
    /// </summary>
    public static MasterKeyLoad Load(string dataDirectory, string? environmentValue)
    {
        if (!string.IsNullOrWhiteSpace(environmentValue))
            return new MasterKeyLoad(new MasterKey(DecodeBase64(environmentValue, EnvironmentVariable), EnvironmentVariable), null);

        var path = Path.GetFullPath(Path.Combine(dataDirectory, FileName));
        if (File.Exists(path)) return new MasterKeyLoad(ReadFile(path), PermissionNotice(path));

        Directory.CreateDirectory(dataDirectory);
        var key = RandomNumberGenerator.GetBytes(32);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var stream = new FileStream(path, options);
            stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n"));
            stream.Flush(flushToDisk: true);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: use theirs.
            return new MasterKeyLoad(ReadFile(path), null);
        }
        var notice =
            $"Created a new master key at {path}. BACK THIS FILE UP: without it, stored credentials cannot be decrypted. " +
            $"Keep it apart from database backups, or set {EnvironmentVariable} (base64 of 32 bytes) instead.";
        return new MasterKeyLoad(new MasterKey(key, path), notice);
    }

    private static MasterKey ReadFile(string path)
    {
        var text = File.ReadAllText(path).Trim();
        return new MasterKey(DecodeBase64(text, path), path);
    }

    private static byte[] DecodeBase64(string text, string origin)
    {
        try
        {
            return Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw new CredentialVaultException($"The master key in {origin} is not valid base64. It must be base64 of 32 random bytes (openssl rand -base64 32); if the file was damaged, restore it from your backup.");
        }
    }

    private static string? PermissionNotice(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        var mode = File.GetUnixFileMode(path);
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                                    UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        return (mode & others) == 0 ? null : $"The master key file {path} can be read by other users; restrict it with: chmod 600 {path}";
    }
}

/// <summary>A loaded <see cref="MasterKey"/> and a message for the operator's log, if any.</summary>
public sealed record MasterKeyLoad(MasterKey Key, string? Notice);

/// <summary>A credential could not be encrypted or decrypted; the message says why and what to do.</summary>
public sealed class CredentialVaultException : Exception
{
    public CredentialVaultException() { }

    public CredentialVaultException(string message) : base(message) { }

    public CredentialVaultException(string message, Exception inner) : base(message, inner) { }
}
