using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Ferry.Server.Auth;

/// <summary>
/// Console passwords: PBKDF2-HMAC-SHA256 with a random 16-byte salt and at least 210,000 iterations (OWASP 2023),
/// stored as <c>$pbkdf2-sha256$v=1$i=&lt;iterations&gt;$&lt;salt&gt;$&lt;hash&gt;</c> (base64url parts) so the cost
/// can be raised later: <see cref="NeedsRehash"/> tells when a stored hash is weaker than today's setting.
/// </summary>
public static class PasswordHasher
{
    public const int MinimumIterations = 210_000;
    private const int SaltSize = 16;
    private const int HashSize = 32;
    private const string Scheme = "pbkdf2-sha256";

    public static string Hash(string password, int iterations = MinimumIterations)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinimumIterations);
        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashSize);
        return string.Create(CultureInfo.InvariantCulture, $"${Scheme}$v=1$i={iterations}${Base64Url.EncodeToString(salt)}${Base64Url.EncodeToString(hash)}");
    }

    /// <summary>True when <paramref name="password"/> matches; compares in constant time. A malformed stored value never matches.</summary>
    public static bool Verify(string password, string stored)
    {
        if (!TryParse(stored, out var iterations, out var salt, out var expected)) return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>True when the stored hash is malformed or uses fewer iterations than <paramref name="iterations"/>: hash the password again at the next login.</summary>
    public static bool NeedsRehash(string stored, int iterations = MinimumIterations) =>
        !TryParse(stored, out var storedIterations, out _, out _) || storedIterations < iterations;

    private static bool TryParse(string stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        var parts = stored.Split('$');
        if (parts.Length != 6 || parts[0].Length != 0 || parts[1] != Scheme || parts[2] != "v=1" || !parts[3].StartsWith("i=", StringComparison.Ordinal)) return false;
        if (!int.TryParse(parts[3].AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 1) return false;
        try
        {
            salt = Base64Url.DecodeFromChars(parts[4]);
            hash = Base64Url.DecodeFromChars(parts[5]);
        }
        catch (FormatException)
        {
            return false;
        }
        return salt.Length >= 8 && hash.Length >= 16;
    }
}
