namespace Ferry.Diagnostics;

/// <summary>A place in a user's file: 1-based line and column.</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}" : File;
}

public enum DiagnosticSeverity { Error, Warning }

/// <summary>
/// One problem found in a user's input: what is wrong, where, and what to do about it.
/// Codes are stable (FERRY001…) so that docs and scripts can refer to them.
/// </summary>
public sealed record Diagnostic(
    string Code,
    string Message,
    SourceLocation? Location = null,
    string? Hint = null,
    DiagnosticSeverity Severity = DiagnosticSeverity.Error)
{
    public bool IsError => Severity == DiagnosticSeverity.Error;

    public override string ToString()
    {
        var where = Location is null ? "" : Location + ": ";
        var kind = Severity == DiagnosticSeverity.Error ? "error" : "warning";
        var hint = string.IsNullOrEmpty(Hint) ? "" : " " + Hint;
        return $"{where}{kind} {Code}: {Message}{hint}";
    }
}

/// <summary>
/// A refusal of user input (exit code 2 in the CLI, 4xx on the server). Carries every problem found,
/// never a stack trace for the user.
/// </summary>
public class FerryInputException : Exception
{
    public FerryInputException(IReadOnlyList<Diagnostic> diagnostics)
        : base(string.Join(Environment.NewLine, diagnostics))
    {
        Diagnostics = diagnostics;
    }

    public FerryInputException(Diagnostic diagnostic) : this([diagnostic]) { }

    public FerryInputException(string code, string message, SourceLocation? location = null, string? hint = null)
        : this(new Diagnostic(code, message, location, hint)) { }

    public FerryInputException() : this("FERRY000", "invalid input") { }

    public FerryInputException(string message) : this("FERRY000", message) { }

    public FerryInputException(string message, Exception inner) : base(message, inner)
    {
        Diagnostics = [new Diagnostic("FERRY000", message)];
    }

    public IReadOnlyList<Diagnostic> Diagnostics { get; }
}
