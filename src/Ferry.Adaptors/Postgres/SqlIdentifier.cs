using System.Text.RegularExpressions;

namespace Ferry.Adaptors.Postgres;

/// <summary>
/// Table and column names as step code gives them, validated and double-quoted. Names are never built from
/// arbitrary text: a name must be letters, digits, <c>_</c> or <c>$</c>, start with a letter or <c>_</c>, and be
/// at most 63 characters; a table may be <c>schema.table</c>. Quoting keeps the case as written, so
/// <c>"Patients"</c> and <c>patients</c> are different tables (as in PostgreSQL).
/// </summary>
internal static partial class SqlIdentifier
{
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_$]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Name();

    public static bool IsValid(string name) => Name().IsMatch(name);

    public static string Quote(string name) => "\"" + name + "\"";

    /// <summary>Validates <c>table</c> or <c>schema.table</c>; returns the quoted form and the parts.</summary>
    public static (string Quoted, string? Schema, string Table) Table(string text, Func<string, Exception> refuse)
    {
        if (string.IsNullOrWhiteSpace(text)) throw refuse("The table name is empty.");
        var parts = text.Split('.');
        if (parts.Length > 2 || !parts.All(IsValid))
            throw refuse($"'{text}' is not a valid table name: use letters, digits and _ (start with a letter or _), optionally as schema.table.");
        return parts.Length == 2
            ? (Quote(parts[0]) + "." + Quote(parts[1]), parts[0], parts[1])
            : (Quote(parts[0]), null, parts[0]);
    }

    public static string Column(string name, Func<string, Exception> refuse) =>
        IsValid(name) ? Quote(name)
            : throw refuse($"'{name}' is not a valid column name: use letters, digits and _ (start with a letter or _, at most 63 characters). Rename the field before writing it.");
}
