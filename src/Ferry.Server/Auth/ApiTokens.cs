using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Ferry.Server.Auth;

/// <summary>
/// A freshly created API token. <see cref="Token"/> is shown to its owner once and never stored; the store keeps
/// <see cref="Id"/> (to find the row) and <see cref="Hash"/> (SHA-256 of the whole token).
/// </summary>
public sealed record NewApiToken(string Token, string Id, byte[] Hash);

/// <summary>
/// API tokens: <c>ferry_</c> + 32 random bytes in base64url (43 characters). The first
/// <see cref="IdLength"/> characters after the prefix are the token's id, a lookup key that is safe to show in
/// lists; the rest stays secret. Tokens are 256-bit random values, so a plain SHA-256 is the right hash
/// (no KDF needed), and verification compares hashes in constant time.
/// </summary>
public static class ApiTokens
{
    public const string Prefix = "ferry_";
    public const int IdLength = 8;
    private const int RandomPartLength = 43;

    public static NewApiToken Create()
    {
        var token = Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return new NewApiToken(token, token.Substring(Prefix.Length, IdLength), HashOf(token));
    }

    /// <summary>Reads the id from a presented token; false when it does not look like a Ferry token at all.</summary>
    public static bool TryGetId(string? token, out string id)
    {
        id = "";
        if (token is null || token.Length != Prefix.Length + RandomPartLength || !token.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        foreach (var c in token.AsSpan(Prefix.Length))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return false;
        }
        id = token.Substring(Prefix.Length, IdLength);
        return true;
    }

    public static byte[] HashOf(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>True when <paramref name="token"/> hashes to <paramref name="storedHash"/> (constant-time comparison).</summary>
    public static bool Verify(string token, ReadOnlySpan<byte> storedHash) =>
        CryptographicOperations.FixedTimeEquals(HashOf(token), storedHash);
}
