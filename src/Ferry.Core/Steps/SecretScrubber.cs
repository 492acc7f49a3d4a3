using Ferry.Json;

namespace Ferry.Steps;

/// <summary>
/// Replaces credential values with <c>***</c> in any text Ferry stores or prints: logs, errors, dataclips.
/// Both the raw value and its JSON-escaped form are replaced, longest first.
/// </summary>
public sealed class SecretScrubber
{
    public const string Mask = "***";
    private string[] _secrets = [];

    public static SecretScrubber None { get; } = new();

    public bool IsEmpty => _secrets.Length == 0;

    /// <summary>Adds every string value (at any depth) of a credential, except the fields named in <paramref name="publicFields"/>.</summary>
    public void AddCredential(JsObject credential, IReadOnlySet<string>? publicFields = null)
    {
        foreach (var (key, value) in credential)
        {
            if (publicFields is not null && publicFields.Contains(key)) continue;
            AddValue(value);
        }
    }

    public void Add(string secret)
    {
        // Very short values ("1", "on") would turn every log into asterisks and protect nothing.
        if (secret.Length < 4) return;
        var escaped = Js.ToJson(secret)[1..^1];
        _secrets = _secrets.Append(secret).Append(escaped).Distinct(StringComparer.Ordinal)
            .OrderByDescending(s => s.Length).ToArray();
    }

    private void AddValue(object? value)
    {
        switch (value)
        {
            case string s: Add(s); break;
            case JsObject o: foreach (var (_, v) in o) AddValue(v); break;
            case JsArray a: foreach (var v in a) AddValue(v); break;
        }
    }

    public string Scrub(string text)
    {
        if (_secrets.Length == 0 || string.IsNullOrEmpty(text)) return text;
        foreach (var secret in _secrets)
        {
            if (text.Contains(secret, StringComparison.Ordinal)) text = text.Replace(secret, Mask, StringComparison.Ordinal);
        }
        return text;
    }
}
