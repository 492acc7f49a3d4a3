using System.Globalization;
using System.Text;

namespace Ferry.Mapping;

/// <summary>
/// A <c>compute</c> template: text with <c>{expression}</c> parts. An expression is a source path
/// (<c>first_name</c>, <c>address.city</c>), a quoted text (<c>'-'</c>), a number, or a function call:
/// <c>upper(x)</c>, <c>lower(x)</c>, <c>trim(x)</c>, <c>concat(a, b, …)</c>, <c>coalesce(a, b, …)</c>.
/// <c>{{</c> and <c>}}</c> write literal braces. A template that is a single <c>{path}</c> keeps the value's JSON type.
/// </summary>
internal sealed class Template
{
    public static readonly string[] Functions = ["upper", "lower", "trim", "concat", "coalesce"];

    private Template(IReadOnlyList<TemplatePart> parts) => Parts = parts;

    public IReadOnlyList<TemplatePart> Parts { get; }

    /// <summary>The path when the whole template is one <c>{path}</c> (the value keeps its JSON type).</summary>
    public string? SinglePath => Parts is [TemplatePart.Expr { Expression: TemplateExpr.Path p }] ? p.Text : null;

    public IEnumerable<string> Paths() => Parts.OfType<TemplatePart.Expr>().SelectMany(e => PathsOf(e.Expression));

    private static IEnumerable<string> PathsOf(TemplateExpr e) => e switch
    {
        TemplateExpr.Path p => [p.Text],
        TemplateExpr.Call c => c.Args.SelectMany(PathsOf),
        _ => [],
    };

    /// <summary>Parses a template; on failure returns null with a message naming the position.</summary>
    public static Template? Parse(string text, out string? error)
    {
        error = null;
        var parts = new List<TemplatePart>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '{' && i + 1 < text.Length && text[i + 1] == '{') { literal.Append('{'); i += 2; continue; }
            if (c == '}' && i + 1 < text.Length && text[i + 1] == '}') { literal.Append('}'); i += 2; continue; }
            if (c == '}')
            {
                error = $"'}}' at position {i + 1} has no opening '{{' (write '}}}}' for a literal brace)";
                return null;
            }
            if (c != '{') { literal.Append(c); i++; continue; }
            var close = FindClose(text, i + 1);
            if (close < 0)
            {
                error = $"'{{' at position {i + 1} has no closing '}}'";
                return null;
            }
            if (literal.Length > 0) { parts.Add(new TemplatePart.Text(literal.ToString())); literal.Clear(); }
            var p = new ExprParser(text, i + 1, close);
            var expr = p.ParseExpression(out error);
            if (expr is null) return null;
            if (!p.AtEnd)
            {
                error = $"unexpected '{text[p.Position]}' at position {p.Position + 1}";
                return null;
            }
            parts.Add(new TemplatePart.Expr(expr));
            i = close + 1;
        }
        if (literal.Length > 0) parts.Add(new TemplatePart.Text(literal.ToString()));
        return new Template(parts);
    }

    private static int FindClose(string text, int from)
    {
        char? quote = null;
        for (var i = from; i < text.Length; i++)
        {
            var c = text[i];
            if (quote is { } q) { if (c == q) quote = null; continue; }
            if (c is '\'' or '"') quote = c;
            else if (c == '}') return i;
            else if (c == '{') return -1;
        }
        return -1;
    }

    private sealed class ExprParser(string text, int start, int end)
    {
        public int Position { get; private set; } = start;

        public bool AtEnd
        {
            get { SkipSpace(); return Position >= end; }
        }

        public TemplateExpr? ParseExpression(out string? error)
        {
            error = null;
            SkipSpace();
            if (Position >= end)
            {
                error = $"an empty expression '{{}}' at position {Position}";
                return null;
            }
            var c = text[Position];
            if (c is '\'' or '"')
            {
                var close = text.IndexOf(c, Position + 1);
                if (close < 0 || close >= end)
                {
                    error = $"the text starting at position {Position + 1} has no closing {c}";
                    return null;
                }
                var s = text[(Position + 1)..close];
                Position = close + 1;
                return new TemplateExpr.Literal(s);
            }
            if (char.IsAsciiDigit(c) || c == '-')
            {
                var from = Position;
                Position++;
                while (Position < end && (char.IsAsciiDigit(text[Position]) || text[Position] == '.')) Position++;
                var number = text[from..Position];
                if (!decimal.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _))
                {
                    error = $"'{number}' at position {from + 1} is not a number";
                    return null;
                }
                return new TemplateExpr.Literal(number);
            }
            var nameStart = Position;
            while (Position < end && text[Position] is not ('(' or ')' or ',' or ' ' or '\t')) Position++;
            var name = text[nameStart..Position].Trim();
            if (name.Length == 0)
            {
                error = $"expected a field path, a quoted text or a function at position {nameStart + 1}";
                return null;
            }
            SkipSpace();
            if (Position < end && text[Position] == '(')
            {
                if (!Functions.Contains(name, StringComparer.Ordinal))
                {
                    var hint = Ferry.Diagnostics.Suggestions.DidYouMean(name, Functions);
                    error = $"unknown function '{name}' at position {nameStart + 1}. {(hint.Length > 0 ? hint + " " : "")}Functions: {string.Join(", ", Functions)}";
                    return null;
                }
                Position++;
                var args = new List<TemplateExpr>();
                SkipSpace();
                if (Position < end && text[Position] == ')') Position++;
                else
                {
                    while (true)
                    {
                        var arg = ParseExpression(out error);
                        if (arg is null) return null;
                        args.Add(arg);
                        SkipSpace();
                        if (Position < end && text[Position] == ',') { Position++; continue; }
                        if (Position < end && text[Position] == ')') { Position++; break; }
                        error = $"expected ',' or ')' at position {Position + 1} in the call to {name}()";
                        return null;
                    }
                }
                if (name is "upper" or "lower" or "trim" && args.Count != 1)
                {
                    error = $"{name}() takes one argument, found {args.Count}";
                    return null;
                }
                if (args.Count == 0)
                {
                    error = $"{name}() needs at least one argument";
                    return null;
                }
                return new TemplateExpr.Call(name, [.. args]);
            }
            FieldPath.Parse(name, out var pathError);
            if (pathError is not null)
            {
                error = $"'{name}' is not a field path: {pathError}";
                return null;
            }
            return new TemplateExpr.Path(name);
        }

        private void SkipSpace()
        {
            while (Position < end && char.IsWhiteSpace(text[Position])) Position++;
        }
    }
}

internal abstract record TemplatePart
{
    public sealed record Text(string Value) : TemplatePart;

    public sealed record Expr(TemplateExpr Expression) : TemplatePart;
}

internal abstract record TemplateExpr
{
    public sealed record Path(string Text) : TemplateExpr;

    public sealed record Literal(string Value) : TemplateExpr;

    public sealed record Call(string Function, TemplateExpr[] Args) : TemplateExpr;
}
