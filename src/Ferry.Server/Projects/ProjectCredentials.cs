using Ferry.Json;
using Ferry.Server.Credentials;
using Ferry.Storage;

namespace Ferry.Server.Projects;

/// <summary>
/// A project's credentials: encrypted by the vault before they are stored, decrypted only to run. The decrypted set
/// of a project is kept in memory for <see cref="CacheFor"/> (every run and every authenticated webhook needs it), and
/// dropped at once when this process changes a credential; a change made through another process on the same
/// database shows within that time.
/// </summary>
public sealed class ProjectCredentials(FerryStore store, CredentialVault vault, ServerOptions options)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DateTimeOffset LoadedAt, IReadOnlyDictionary<string, JsObject> Values)> _cache =
        new(StringComparer.Ordinal);

    /// <summary>Encrypts and stores a credential's values, with <paramref name="audit"/> in the same transaction.</summary>
    public async Task SaveAsync(string project, string name, string adaptor, JsObject values, AuditEntry? audit = null, CancellationToken ct = default)
    {
        await store.SaveCredentialAsync(project, name, adaptor, vault.Encrypt(values, VaultName(project, name)), audit, ct);
        _cache.TryRemove(project, out _);
    }

    /// <summary>Deletes a credential's values, with <paramref name="audit"/> in the same transaction; false when it had none.</summary>
    public async Task<bool> DeleteAsync(string project, string name, AuditEntry? audit = null, CancellationToken ct = default)
    {
        var deleted = await store.DeleteCredentialAsync(project, name, audit, ct);
        _cache.TryRemove(project, out _);
        return deleted;
    }

    /// <summary>Every credential of the project, decrypted, by name. Callers must not change the values (the engine clones them).</summary>
    public async Task<IReadOnlyDictionary<string, JsObject>> LoadAsync(string project, CancellationToken ct = default)
    {
        var now = options.Clock.GetUtcNow();
        var known = _cache.TryGetValue(project, out var cached);
        if (known && now - cached.LoadedAt < CacheFor && now >= cached.LoadedAt) return cached.Values;
        IReadOnlyList<CredentialRecord> records;
        try
        {
            records = await store.ListCredentialsAsync(project, ct);
        }
        catch (Exception) when (known && !ct.IsCancellationRequested)
        {
            return cached.Values; // the database is unreachable: webhook auth goes on with the values last read
        }
        var result = new Dictionary<string, JsObject>(StringComparer.Ordinal);
        foreach (var record in records) result[record.Name] = vault.Decrypt(record.Envelope, VaultName(project, record.Name));
        _cache[project] = (now, result);
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
