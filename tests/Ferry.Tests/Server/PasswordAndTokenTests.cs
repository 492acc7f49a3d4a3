using Ferry.Server.Auth;

namespace Ferry.Tests.Server;

public sealed class PasswordAndTokenTests
{
    [Fact]
    public void Password_hash_verifies_the_right_password_only()
    {
        var stored = PasswordHasher.Hash("correct horse battery staple");

        Assert.True(PasswordHasher.Verify("correct horse battery staple", stored));
        Assert.False(PasswordHasher.Verify("correct horse battery stapl", stored));
        Assert.False(PasswordHasher.Verify("", stored));
    }

    [Fact]
    public void Password_hash_is_salted_versioned_and_uses_at_least_210000_iterations()
    {
        var a = PasswordHasher.Hash("same");
        var b = PasswordHasher.Hash("same");

        Assert.NotEqual(a, b);
        Assert.StartsWith("$pbkdf2-sha256$v=1$i=210000$", a, StringComparison.Ordinal);
        Assert.DoesNotContain("same", a[30..], StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => PasswordHasher.Hash("x", 1000));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plaintext")]
    [InlineData("$pbkdf2-sha256$v=1$i=abc$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$md5$v=1$i=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")]
    public void Malformed_stored_hash_never_matches_and_needs_rehash(string stored)
    {
        Assert.False(PasswordHasher.Verify("plaintext", stored));
        Assert.True(PasswordHasher.NeedsRehash(stored));
    }

    [Fact]
    public void Weaker_stored_hash_needs_rehash()
    {
        var stored = PasswordHasher.Hash("pw");

        Assert.False(PasswordHasher.NeedsRehash(stored));
        Assert.True(PasswordHasher.NeedsRehash(stored, 600_000));
    }

    [Fact]
    public void Api_token_has_prefix_an_id_for_lookup_and_only_its_hash_is_kept()
    {
        var created = ApiTokens.Create();

        Assert.StartsWith("ferry_", created.Token, StringComparison.Ordinal);
        Assert.Equal(6 + 43, created.Token.Length);
        Assert.True(ApiTokens.TryGetId(created.Token, out var id));
        Assert.Equal(created.Id, id);
        Assert.Equal(32, created.Hash.Length);
        Assert.True(ApiTokens.Verify(created.Token, created.Hash));
        Assert.NotEqual(created.Token, ApiTokens.Create().Token);
    }

    [Fact]
    public void Api_token_with_one_changed_character_does_not_verify()
    {
        var created = ApiTokens.Create();
        var last = created.Token[^1] == 'A' ? 'B' : 'A';

        Assert.False(ApiTokens.Verify(created.Token[..^1] + last, created.Hash));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ferry_short")]
    [InlineData("github_pat_0123456789012345678901234567890123456789012")]
    [InlineData("ferry_0123456789012345678901234567890123456789+==")]
    public void Strings_that_are_not_ferry_tokens_have_no_id(string? token)
    {
        Assert.False(ApiTokens.TryGetId(token, out _));
    }
}
