using Ferry.Steps;

namespace Ferry.Adaptors.Postgres;

/// <summary>
/// A failed <c>postgres</c> operation. The message names the operation, the table, the batch (for many-row
/// writes) and PostgreSQL's own message with its SQLSTATE code; it never contains the password.
/// </summary>
[StepApi]
public sealed class PostgresAdaptorException : AdaptorException
{
    internal PostgresAdaptorException(string adaptor, string operation, string message, string? sqlState, string? table, Exception? inner = null)
        : base(adaptor, operation, message, inner)
    {
        SqlState = sqlState;
        Table = table;
    }

    public PostgresAdaptorException() : this("The PostgreSQL operation failed.") { }

    public PostgresAdaptorException(string message) : base("postgres", "", message) { }

    public PostgresAdaptorException(string message, Exception inner) : base("postgres", "", message, inner) { }

    /// <summary>PostgreSQL's error code (e.g. 23505 unique violation), or null when the error did not come from the server.</summary>
    public string? SqlState { get; }

    /// <summary>The table the operation worked on, when there was one.</summary>
    public string? Table { get; }
}
