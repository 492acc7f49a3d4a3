using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Ferry.Mapping;

/// <summary>
/// A compiled date format (.NET custom format syntax, always the invariant culture). Numeric formats
/// (<c>yyyy</c>, <c>MM</c>, <c>M</c>, <c>dd</c>, <c>d</c>, <c>HH</c>, <c>mm</c>, <c>ss</c>, <c>fff</c> and literals)
/// parse and print straight from and to UTF-8 bytes without allocating; anything else (month names,
/// <c>zzz</c>, standard formats such as <c>O</c>) goes through <see cref="DateTimeOffset.TryParseExact(string, string, IFormatProvider, DateTimeStyles, out DateTimeOffset)"/>.
/// Text without an offset is read as UTC. Instances are cached per format string.
/// </summary>
internal sealed class DatePattern
{
    private static readonly ConcurrentDictionary<string, DatePattern> Cache = new(StringComparer.Ordinal);
    private static readonly DateTimeOffset Sample = new(2024, 12, 31, 23, 59, 58, 123, TimeSpan.Zero);
    private readonly Token[]? _tokens;

    private DatePattern(string format)
    {
        Format = format;
        _tokens = Compile(format);
        if (_tokens is null)
        {
            // Reject format strings .NET cannot use at all, so the mistake is reported when the spec loads.
            _ = Sample.ToString(format, CultureInfo.InvariantCulture);
        }
    }

    public string Format { get; }

    /// <summary>True when this format is parsed and printed by the allocation-free path.</summary>
    public bool IsFast => _tokens is not null;

    /// <summary>The cached pattern for a format; throws <see cref="FormatException"/> for an unusable format string.</summary>
    public static DatePattern Get(string format) => Cache.GetOrAdd(format, f => new DatePattern(f));

    public static bool TryGet(string format, out DatePattern? pattern, out string? error)
    {
        try
        {
            if (string.IsNullOrWhiteSpace(format)) throw new FormatException("the format is empty");
            pattern = Get(format);
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            pattern = null;
            error = e.Message;
            return false;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a fresh `ferry run` maps a million records before tiered JIT would optimize this
    public bool TryParse(ReadOnlySpan<byte> utf8, out DateTimeOffset value)
    {
        utf8 = utf8.Trim(" \t\r\n"u8);
        if (_tokens is not null) return TryParseFast(utf8, out value);
        Span<char> chars = utf8.Length <= 256 ? stackalloc char[utf8.Length] : new char[utf8.Length];
        var n = Encoding.UTF8.GetChars(utf8, chars);
        return DateTimeOffset.TryParseExact(chars[..n], Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
    }

    public bool TryParse(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        text = text.Trim();
        if (_tokens is not null && text.Length <= 128 && Ascii.IsValid(text))
        {
            Span<byte> bytes = stackalloc byte[text.Length];
            for (var i = 0; i < text.Length; i++) bytes[i] = (byte)text[i];
            return TryParseFast(bytes, out value);
        }
        if (_tokens is not null)
        {
            value = default;
            return false;
        }
        return DateTimeOffset.TryParseExact(text, Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
    }

    /// <summary>Appends the formatted date as UTF-8 (no quotes) and returns the number of bytes written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int FormatTo(DateTimeOffset value, Span<byte> destination)
    {
        if (_tokens is null)
        {
            var text = value.ToString(Format, CultureInfo.InvariantCulture);
            return Encoding.UTF8.GetBytes(text, destination);
        }
        var dt = value.DateTime;
        var pos = 0;
        foreach (var t in _tokens)
        {
            switch (t.Kind)
            {
                case TokenKind.Literal:
                    t.Literal.CopyTo(destination[pos..]);
                    pos += t.Literal!.Length;
                    break;
                case TokenKind.Fraction:
                    var frac = (int)(dt.Ticks % TimeSpan.TicksPerSecond);
                    for (var k = t.MaxDigits; k < 7; k++) frac /= 10;
                    pos += WriteDigits(frac, t.MaxDigits, destination[pos..]);
                    break;
                default:
                    pos += WriteDigits(Component(dt, t.Kind), t.MinDigits, destination[pos..]);
                    break;
            }
        }
        return pos;
    }

    /// <summary>Longest output this format can produce, in bytes.</summary>
    public int MaxLength => _tokens is null ? 256 : _tokens.Sum(t => t.Kind == TokenKind.Literal ? t.Literal!.Length : Math.Max(t.MaxDigits, 4));

    public string FormatToString(DateTimeOffset value)
    {
        if (_tokens is null) return value.ToString(Format, CultureInfo.InvariantCulture);
        Span<byte> buffer = stackalloc byte[MaxLength];
        var n = FormatTo(value, buffer);
        return Encoding.UTF8.GetString(buffer[..n]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryParseFast(ReadOnlySpan<byte> s, out DateTimeOffset value)
    {
        value = default;
        int year = 1, month = 1, day = 1, hour = 0, minute = 0, second = 0;
        long fraction = 0;
        var pos = 0;
        foreach (var t in _tokens!)
        {
            if (t.Kind == TokenKind.Literal)
            {
                if (!s[pos..].StartsWith(t.Literal)) return false;
                pos += t.Literal!.Length;
                continue;
            }
            var n = 0;
            var digits = 0;
            while (digits < t.MaxDigits && pos < s.Length && (uint)(s[pos] - '0') <= 9)
            {
                n = (n * 10) + (s[pos] - '0');
                pos++;
                digits++;
            }
            if (digits < t.MinDigits) return false;
            switch (t.Kind)
            {
                case TokenKind.Year: year = n; break;
                case TokenKind.Month: month = n; break;
                case TokenKind.Day: day = n; break;
                case TokenKind.Hour: hour = n; break;
                case TokenKind.Minute: minute = n; break;
                case TokenKind.Second: second = n; break;
                case TokenKind.Fraction:
                    fraction = n;
                    for (var k = digits; k < 7; k++) fraction *= 10;
                    break;
                default: return false;
            }
        }
        if (pos != s.Length) return false;
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)) return false;
        if (hour > 23 || minute > 59 || second > 59) return false;
        var ticks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + fraction;
        value = new DateTimeOffset(ticks, TimeSpan.Zero);
        return true;
    }

    private static int Component(DateTime dt, TokenKind kind) => kind switch
    {
        TokenKind.Year => dt.Year,
        TokenKind.Month => dt.Month,
        TokenKind.Day => dt.Day,
        TokenKind.Hour => dt.Hour,
        TokenKind.Minute => dt.Minute,
        _ => dt.Second,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int WriteDigits(int value, int minDigits, Span<byte> destination)
    {
        var digits = value >= 1000 ? 4 : value >= 100 ? 3 : value >= 10 ? 2 : 1;
        if (value >= 10000) digits = (int)Math.Floor(Math.Log10(value)) + 1;
        var width = Math.Max(digits, minDigits);
        for (var i = width - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
        return width;
    }

    private static Token[]? Compile(string format)
    {
        if (format.Length <= 1) return null; // one-letter formats are .NET standard formats
        var tokens = new List<Token>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < format.Length)
        {
            var c = format[i];
            var run = 1;
            while (i + run < format.Length && format[i + run] == c) run++;
            TokenKind? kind = c switch
            {
                'y' when run == 4 => TokenKind.Year,
                'M' when run <= 2 => TokenKind.Month,
                'd' when run <= 2 => TokenKind.Day,
                'H' when run <= 2 => TokenKind.Hour,
                'm' when run <= 2 => TokenKind.Minute,
                's' when run <= 2 => TokenKind.Second,
                'f' when run <= 7 => TokenKind.Fraction,
                _ => null,
            };
            if (kind is { } k)
            {
                Flush(tokens, literal);
                tokens.Add(k switch
                {
                    TokenKind.Year => new Token(k, 4, 4, null),
                    TokenKind.Fraction => new Token(k, run, run, null),
                    _ => new Token(k, run, 2, null),
                });
                i += run;
                continue;
            }
            if (c is 'y' or 'M' or 'd' or 'h' or 'H' or 'm' or 's' or 'f' or 'F' or 'g' or 't' or 'z' or 'K' or '%') return null;
            if (c is '\'' or '"')
            {
                var close = format.IndexOf(c, i + 1);
                if (close < 0) return null;
                literal.Append(format, i + 1, close - i - 1);
                i = close + 1;
                continue;
            }
            if (c == '\\')
            {
                if (i + 1 >= format.Length) return null;
                literal.Append(format[i + 1]);
                i += 2;
                continue;
            }
            literal.Append(c);
            i++;
        }
        Flush(tokens, literal);
        return [.. tokens];
    }

    private static void Flush(List<Token> tokens, StringBuilder literal)
    {
        if (literal.Length == 0) return;
        tokens.Add(new Token(TokenKind.Literal, 0, 0, Encoding.UTF8.GetBytes(literal.ToString())));
        literal.Clear();
    }

    private enum TokenKind { Literal, Year, Month, Day, Hour, Minute, Second, Fraction }

    private readonly record struct Token(TokenKind Kind, int MinDigits, int MaxDigits, byte[]? Literal);
}
