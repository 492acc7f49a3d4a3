using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Ferry.Json;

namespace Ferry.Server.Credentials;

/// <summary>
/// Encrypts a credential's JSON at rest with AES-256-GCM. Each value gets a fresh random 12-byte nonce; the
/// envelope names the format version and the key id, and the credential's name is bound in as associated data,
/// so a value copied onto another credential does not decrypt.
/// Envelope: <c>ferry1.&lt;keyId&gt;.&lt;nonce&gt;.&lt;ciphertext&gt;.&lt;tag&gt;</c> (base64url parts).
/// </summary>
public sealed class CredentialVault
{
    private const string Version = "ferry1";
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly MasterKey _key;

    public CredentialVault(MasterKey key) => _key = key;

    /// <summary>The id of the key new values are encrypted with.</summary>
    public string KeyId => _key.Id;

    /// <summary>Opens the vault with the key from <c>FERRY_MASTER_KEY</c> or <c>&lt;dataDirectory&gt;/master.key</c> (see <see cref="MasterKey.Load"/>).</summary>
    public static (CredentialVault Vault, string? Notice) Open(string dataDirectory)
    {
        var load = MasterKey.Load(dataDirectory, Environment.GetEnvironmentVariable(MasterKey.EnvironmentVariable));
        return (new CredentialVault(load.Key), load.Notice);
    }

    public string Encrypt(JsObject credential, string credentialName)
    {
        var plaintext = Js.ToUtf8(credential);
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceSize);
            var ciphertext = new byte[plaintext.Length];
            var tag = new byte[TagSize];
            using var aes = new AesGcm(_key.Key, TagSize);
            aes.Encrypt(nonce, plaintext, ciphertext, tag, AssociatedData(_key.Id, credentialName));
            return string.Join('.', Version, _key.Id, Base64Url.EncodeToString(nonce), Base64Url.EncodeToString(ciphertext), Base64Url.EncodeToString(tag));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <exception cref="CredentialVaultException">The envelope is damaged, was changed, belongs to another credential, or was encrypted with another key.</exception>
    public JsObject Decrypt(string envelope, string credentialName)
    {
        var parts = envelope.Split('.');
        if (parts.Length != 5 || parts[0] != Version)
            throw new CredentialVaultException($"Credential '{credentialName}' is not in the {Version} envelope format (expected 5 dot-separated parts). The stored value is damaged: set the credential's values again.");
        if (parts[1] != _key.Id)
            throw new CredentialVaultException(
                $"Credential '{credentialName}' was encrypted with master key {parts[1]}, but this server uses key {_key.Id} (from {_key.Origin}). " +
                $"Start the server with the original key (restore {MasterKey.FileName} or set {MasterKey.EnvironmentVariable}), or set the credential's values again.");
        byte[] nonce, ciphertext, tag;
        try
        {
            nonce = Base64Url.DecodeFromChars(parts[2]);
            ciphertext = Base64Url.DecodeFromChars(parts[3]);
            tag = Base64Url.DecodeFromChars(parts[4]);
        }
        catch (FormatException)
        {
            throw new CredentialVaultException($"Credential '{credentialName}' has a damaged envelope (a part is not base64url). Set the credential's values again.");
        }
        if (nonce.Length != NonceSize || tag.Length != TagSize)
            throw new CredentialVaultException($"Credential '{credentialName}' has a damaged envelope (nonce or tag has the wrong size). Set the credential's values again.");

        var plaintext = new byte[ciphertext.Length];
        try
        {
            using var aes = new AesGcm(_key.Key, TagSize);
            aes.Decrypt(nonce, ciphertext, tag, plaintext, AssociatedData(parts[1], credentialName));
            return Js.Parse(plaintext, $"credential '{credentialName}'") as JsObject
                   ?? throw new CredentialVaultException($"Credential '{credentialName}' decrypted to a value that is not a JSON object. Set the credential's values again.");
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new CredentialVaultException(
                $"Credential '{credentialName}' failed its integrity check: the stored value was changed, damaged, or copied from another credential. " +
                "Nothing was decrypted; set the credential's values again (and check who can write the database).", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static byte[] AssociatedData(string keyId, string credentialName) => Encoding.UTF8.GetBytes($"{Version}|{keyId}|{credentialName}");
}
