using System.Text;
using Ferry.Json;
using Ferry.Server.Credentials;

namespace Ferry.Tests.Server;

public sealed class CredentialVaultTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ferry-vault").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsObject Credential() => (JsObject)Js.Parse("""{"username": "dhis2-sync", "password": "Kampala-Secret-42", "nested": {"token": "abc"}}""")!;

    [Fact]
    public void Encrypted_value_round_trips_and_the_ciphertext_does_not_contain_the_plaintext()
    {
        var vault = new CredentialVault(MasterKey.Generate());

        var envelope = vault.Encrypt(Credential(), "dhis2");
        var back = vault.Decrypt(envelope, "dhis2");

        Assert.True(Js.DeepEquals(Credential(), back));
        Assert.DoesNotContain("Kampala-Secret-42", envelope, StringComparison.Ordinal);
        Assert.DoesNotContain("dhis2-sync", envelope, StringComparison.Ordinal);
        var decodedParts = envelope.Split('.').Skip(2).Select(p => Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(p)));
        Assert.All(decodedParts, p => Assert.DoesNotContain("Kampala-Secret-42", p, StringComparison.Ordinal));
        Assert.StartsWith("ferry1." + vault.KeyId + ".", envelope, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_encryption_uses_a_fresh_nonce()
    {
        var vault = new CredentialVault(MasterKey.Generate());

        Assert.NotEqual(vault.Encrypt(Credential(), "a"), vault.Encrypt(Credential(), "a"));
    }

    [Fact]
    public void A_changed_ciphertext_is_refused_with_an_integrity_error()
    {
        var vault = new CredentialVault(MasterKey.Generate());
        var parts = vault.Encrypt(Credential(), "dhis2").Split('.');
        var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(parts[3]);
        bytes[0] ^= 1;
        parts[3] = System.Buffers.Text.Base64Url.EncodeToString(bytes);

        var e = Assert.Throws<CredentialVaultException>(() => vault.Decrypt(string.Join('.', parts), "dhis2"));

        Assert.Contains("failed its integrity check", e.Message, StringComparison.Ordinal);
        Assert.Contains("'dhis2'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_copied_onto_another_credential_does_not_decrypt()
    {
        var vault = new CredentialVault(MasterKey.Generate());
        var envelope = vault.Encrypt(Credential(), "dhis2");

        Assert.Throws<CredentialVaultException>(() => vault.Decrypt(envelope, "commcare"));
    }

    [Fact]
    public void A_value_from_another_key_names_both_key_ids_and_the_fix()
    {
        var envelope = new CredentialVault(MasterKey.Generate()).Encrypt(Credential(), "dhis2");
        var other = new CredentialVault(MasterKey.Generate());

        var e = Assert.Throws<CredentialVaultException>(() => other.Decrypt(envelope, "dhis2"));

        Assert.Contains(other.KeyId, e.Message, StringComparison.Ordinal);
        Assert.Contains("FERRY_MASTER_KEY", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-an-envelope")]
    [InlineData("ferry1.k00000000.@@@.x.y")]
    public void A_damaged_envelope_is_refused_clearly(string envelope)
    {
        var vault = new CredentialVault(MasterKey.Generate());
        var damaged = envelope.Replace("k00000000", vault.KeyId, StringComparison.Ordinal);

        var e = Assert.Throws<CredentialVaultException>(() => vault.Decrypt(damaged, "dhis2"));

        Assert.Contains("damaged", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void First_start_creates_a_0600_key_file_and_says_to_back_it_up()
    {
        var first = MasterKey.Load(_dir, null);
        var path = Path.Combine(_dir, "master.key");

        Assert.True(File.Exists(path));
        Assert.Contains("BACK THIS FILE UP", first.Notice, StringComparison.Ordinal);
        Assert.Contains(path, first.Notice, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        var second = MasterKey.Load(_dir, null);
        Assert.Null(second.Notice);
        Assert.Equal(first.Key.Id, second.Key.Id);
        var envelope = new CredentialVault(first.Key).Encrypt(Credential(), "x");
        Assert.True(Js.DeepEquals(Credential(), new CredentialVault(second.Key).Decrypt(envelope, "x")));
    }

    [Fact]
    public void Environment_key_wins_over_the_key_file()
    {
        var key = Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());

        var load = MasterKey.Load(_dir, key);

        Assert.Equal("FERRY_MASTER_KEY", load.Key.Origin);
        Assert.False(File.Exists(Path.Combine(_dir, "master.key")));
        Assert.Equal(load.Key.Id, MasterKey.Load(_dir, key).Key.Id);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    public void Bad_environment_key_is_refused_with_how_to_make_one(string value)
    {
        var e = Assert.Throws<CredentialVaultException>(() => MasterKey.Load(_dir, value));

        Assert.Contains("FERRY_MASTER_KEY", e.Message, StringComparison.Ordinal);
        Assert.Contains("openssl rand -base64 32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_file_readable_by_others_gets_a_warning()
    {
        if (OperatingSystem.IsWindows()) return;
        MasterKey.Load(_dir, null);
        var path = Path.Combine(_dir, "master.key");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        Assert.Contains("chmod 600", MasterKey.Load(_dir, null).Notice, StringComparison.Ordinal);
    }
}
