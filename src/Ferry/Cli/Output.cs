using Ferry.Diagnostics;
using Ferry.Steps;

namespace Ferry.Cli;

/// <summary>What the CLI prints: human lines on stderr (colour on a terminal, unless NO_COLOR), results on stdout.</summary>
internal sealed class Output
{
    private readonly bool _color;

    public Output(bool json)
    {
        Json = json;
        _color = !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;
    }

    /// <summary>Machine-readable mode: stdout carries one JSON document, stderr stays human.</summary>
    public bool Json { get; }

    public void Info(string text) => Console.Error.WriteLine(Paint(null, text));

    public void Success(string text) => Console.Error.WriteLine(Paint("32", text));

    public void Failure(string text) => Console.Error.WriteLine(Paint("31", text));

    public void Dim(string text) => Console.Error.WriteLine(Paint("2", text));

    public void Diagnostics(IEnumerable<Diagnostic> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            if (d.IsError) Failure(d.ToString());
            else Console.Error.WriteLine(Paint("33", d.ToString()));
        }
    }

    public void Log(LogEntry entry)
    {
        var level = entry.Level switch
        {
            LogLevel.Debug => Paint("2", "DEBUG"),
            LogLevel.Info => Paint("36", "INFO "),
            LogLevel.Warn => Paint("33", "WARN "),
            _ => Paint("31", "ERROR"),
        };
        var step = entry.StepId is null ? "" : $"[{entry.StepId}] ";
        Console.Error.WriteLine($"{Paint("2", entry.Time.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture))} {level} {step}{entry.Message}");
    }

    public static void Stdout(string text) => Console.Out.WriteLine(text);

    private string Paint(string? code, string text) => _color && code is not null ? $"\u001b[{code}m{text}\u001b[0m" : text;
}
