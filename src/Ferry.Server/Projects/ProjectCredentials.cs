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

    /// <summary>
    /// Refuses to start a run whose steps use a credential that is not set (deleted after the deploy, or never set),
    /// with a message that names it and says how to set it again.
    /// </summary>
    /// <exception cref="InvalidOperationException">A credential the plan uses has no values.</exception>
    public static void RequireAll(Engine.WorkflowPlan plan, IReadOnlyDictionary<string, JsObject> values)
    {
        var missing = plan.Steps.FirstOrDefault(s => s.Credential is not null && !values.ContainsKey(s.Credential));
        if (missing is null) return;
        throw new InvalidOperationException(
            $"Step '{missing.Id}' uses credential '{missing.Credential}', which is not set on this server (it was deleted, or never set). " +
            $"Set it again with PUT /api/projects/{plan.Project}/credentials/{missing.Credential} (admin role), then retry the work order.");
    }

    /// <summary>Binds a ciphertext to its project and name, so an envelope copied to another credential does not open.</summary>
    private static string VaultName(string project, string name) => $"{project}/{name}";
}
