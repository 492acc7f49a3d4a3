using Ferry.Json;
using Ferry.Server.Credentials;
using Ferry.Storage;

namespace Ferry.Server.Projects;

/// <summary>A project's credentials: encrypted by the vault before they are stored, decrypted only to run.</summary>
public sealed class ProjectCredentials(FerryStore store, CredentialVault vault)
{
    public Task SaveAsync(string project, string name, string adaptor, JsObject values, CancellationToken ct = default) =>
        store.SaveCredentialAsync(project, name, adaptor, vault.Encrypt(values, VaultName(project, name)), ct);

    /// <summary>Every credential of the project, decrypted, by name.</summary>
    public async Task<Dictionary<string, JsObject>> LoadAsync(string project, CancellationToken ct = default)
    {
        var result = new Dictionary<string, JsObject>(StringComparer.Ordinal);
        foreach (var record in await store.ListCredentialsAsync(project, ct)) result[record.Name] = vault.Decrypt(record.Envelope, VaultName(project, record.Name));
        return result;
    }

    /// <summary>Binds a ciphertext to its project and name, so an envelope copied to another credential does not open.</summary>
    private static string VaultName(string project, string name) => $"{project}/{name}";
}
