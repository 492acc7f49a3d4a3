using System.Collections.Concurrent;
using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Mapping;

namespace Ferry.Steps;

/// <summary>
/// Dates in and out of formats, for step code: <c>Dates.Reformat(c.reported, from: "MM/dd/yyyy", to: "yyyy-MM-dd")</c>.
/// Formats are .NET custom date formats read with the invariant culture: a value is only accepted in the format
/// named, never guessed. Time zones are IANA ids such as <c>Africa/Kampala</c>. Null or empty text in gives null out.
/// Text without an offset is a clock time in the <c>timeZone</c> argument when one is given, else UTC.
/// </summary>
[StepApi]
public static class Dates
{
    private static readonly ConcurrentDictionary<string, TimeZoneInfo> Zones = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Reads a date in <paramref name="format"/>; throws <see cref="FormatException"/> naming the value and format when it does not match.</summary>
    public static DateTimeOffset? Parse(object? value, string format, string? timeZone = null) => Parse(value, [format], timeZone);

    /// <summary>Reads a date in the first of <paramref name="formats"/> that matches.</summary>
    public static DateTimeOffset? Parse(object? value, string[] formats, string? timeZone = null)
    {
        switch (value)
        {
            case null: return null;
            case DateTimeOffset dto: return dto;
            case DateTime dt: return InZone(dt, timeZone);
            case DateOnly d: return InZone(d.ToDateTime(TimeOnly.MinValue), timeZone);
        }
        var text = Text(value, nameof(Parse));
        if (string.IsNullOrWhiteSpace(text)) return null;
        foreach (var format in formats)
        {
            if (!Pattern(format).TryParse(text, out var parsed)) continue;
            return HasOffset(format) ? parsed : InZone(parsed.DateTime, timeZone);
        }
        throw new FormatException($"'{Shorten(text)}' is not a date in the format {string.Join(" or ", formats)}. " +
            "Check the source's date format, or pass every format it uses: Dates.Parse(value, new[] { \"dd/MM/yyyy\", \"yyyy-MM-dd\" }).");
    }

    /// <summary>Writes a date (a date value, or ISO 8601 text) in <paramref name="format"/>, converted to <paramref name="timeZone"/> when given.</summary>
    public static string? Format(object? value, string format, string? timeZone = null)
    {
        var instant = Instant(value, nameof(Format));
        if (instant is null) return null;
        var when = timeZone is null ? instant.Value : TimeZoneInfo.ConvertTime(instant.Value, Zone(timeZone));
        return Pattern(format).FormatToString(when);
    }

    /// <summary>Reads a date in <paramref name="from"/> and writes it in <paramref name="to"/>: <c>Reformat("01/31/2024", "MM/dd/yyyy", "yyyy-MM-dd")</c>.</summary>
    public static string? Reformat(object? value, string from, string to) => Reformat(value, [from], to);

    /// <summary>Reads a date in the first of <paramref name="from"/> that matches and writes it in <paramref name="to"/>.</summary>
    public static string? Reformat(object? value, string[] from, string to)
    {
        var parsed = Parse(value, from);
        return parsed is null ? null : Pattern(to).FormatToString(parsed.Value);
    }

    /// <summary>A clock time in <paramref name="timeZone"/> as a UTC instant (values with an offset are only converted).</summary>
    public static DateTimeOffset? ToUtc(object? value, string timeZone)
    {
        var zone = Zone(timeZone);
        DateTimeOffset? local = value switch
        {
            null => null,
            DateTimeOffset dto => dto,
            DateTime dt when dt.Kind == DateTimeKind.Utc => new DateTimeOffset(dt),
            DateTime dt => Clock(dt, zone),
            _ => IsoText(value, nameof(ToUtc), zone),
        };
        return local?.ToUniversalTime();
    }

    /// <summary>A UTC instant (text without an offset is UTC) as the clock time in <paramref name="timeZone"/>.</summary>
    public static DateTimeOffset? FromUtc(object? value, string timeZone)
    {
        var instant = Instant(value, nameof(FromUtc));
        return instant is null ? null : TimeZoneInfo.ConvertTime(instant.Value, Zone(timeZone));
    }

    /// <summary>The current time in <paramref name="timeZone"/> (UTC by default).</summary>
    public static DateTimeOffset Now(string timeZone = "UTC") => TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, Zone(timeZone));

    /// <summary>Today's date in <paramref name="timeZone"/> (UTC by default); stored in state as yyyy-MM-dd.</summary>
    public static DateOnly Today(string timeZone = "UTC") => DateOnly.FromDateTime(Now(timeZone).DateTime);

    // ---- helpers ----------------------------------------------------------------------------------------

    private static DatePattern Pattern(string format)
    {
        try
        {
            return DatePattern.Get(format);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"'{format}' is not a usable date format ({e.Message}). Use .NET custom formats such as MM/dd/yyyy or yyyy-MM-ddTHH:mm:ss.", nameof(format), e);
        }
    }

    private static bool HasOffset(string format) =>
        format is "O" or "o" or "R" or "r" or "u" || format.Contains('z', StringComparison.Ordinal) || format.Contains('K', StringComparison.Ordinal);

    private static DateTimeOffset InZone(DateTime clock, string? timeZone) =>
        timeZone is null ? new DateTimeOffset(DateTime.SpecifyKind(clock, DateTimeKind.Unspecified), TimeSpan.Zero) : Clock(clock, Zone(timeZone));

    private static DateTimeOffset Clock(DateTime clock, TimeZoneInfo zone)
    {
        var unspecified = DateTime.SpecifyKind(clock, DateTimeKind.Unspecified);
        return new DateTimeOffset(unspecified, zone.GetUtcOffset(unspecified));
    }

    private static DateTimeOffset? Instant(object? value, string method) => value switch
    {
        null => null,
        DateTimeOffset dto => dto,
        DateTime dt => dt.Kind == DateTimeKind.Unspecified ? new DateTimeOffset(dt, TimeSpan.Zero) : new DateTimeOffset(dt),
        DateOnly d => new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero),
        _ => IsoText(value, method, TimeZoneInfo.Utc),
    };

    private static DateTimeOffset? IsoText(object value, string method, TimeZoneInfo zone)
    {
        var text = Text(value, method);
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        if (!TypeConversion.TryParseIso(text, out var parsed))
            throw new FormatException($"Dates.{method}: '{Shorten(text)}' is not an ISO 8601 date such as 2024-01-31 or 2024-01-31T14:30:00+03:00. " +
                "Read other formats first with Dates.Parse(value, \"<format>\").");
        var hasOffset = text.EndsWith('Z') || text.LastIndexOfAny(['+', '-']) > 10;
        return hasOffset ? parsed : Clock(parsed.DateTime, zone);
    }

    private static string Text(object value, string method) => value switch
    {
        string s => s,
        RawJson { Kind: System.Text.Json.JsonValueKind.String } raw => (string)raw.Materialize()!,
        int or long or decimal => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        _ => throw new ArgumentException($"Dates.{method} needs a date or text, not {Js.ToJson(value)}."),
    };

    private static string Shorten(string s) => s.Length > 60 ? s[..57] + "..." : s;

    /// <summary>Finds an IANA (or Windows) time zone; an unknown id is refused with the closest known ids.</summary>
    internal static TimeZoneInfo Zone(string id) => Zones.GetOrAdd(id.Trim(), static key =>
    {
        if (key.Equals("UTC", StringComparison.OrdinalIgnoreCase) || key == "Z") return TimeZoneInfo.Utc;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(key);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            var ids = TimeZoneInfo.GetSystemTimeZones().Select(z => z.Id).ToList();
            var hint = Suggestions.DidYouMean(key, ids);
            throw new ArgumentException($"Unknown time zone '{key}'. {(hint.Length > 0 ? hint + " " : "")}Use an IANA id such as Africa/Kampala, Africa/Nairobi or UTC.", nameof(id), e);
        }
    });
}
