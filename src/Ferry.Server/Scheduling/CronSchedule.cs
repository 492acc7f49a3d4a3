using Ferry.Diagnostics;
using NCrontab;

namespace Ferry.Server.Scheduling;

/// <summary>
/// A cron schedule in an IANA time zone. Ticks are computed on the zone's wall clock and returned in UTC, so
/// "0 6 * * *" in Europe/London is 06:00 local all year round. Across DST changes: a local time that does not
/// exist (spring forward) is skipped; a local time that happens twice (fall back) fires once, at its first
/// occurrence.
/// </summary>
public sealed class CronSchedule
{
    // Windows to look back for the latest missed tick: most schedules are found in the first ones.
    private static readonly TimeSpan[] CatchUpWindows =
        [TimeSpan.FromMinutes(1), TimeSpan.FromHours(1), TimeSpan.FromDays(1), TimeSpan.FromDays(32), TimeSpan.FromDays(367), TimeSpan.FromDays(5 * 366)];

    private readonly CrontabSchedule _schedule;

    private CronSchedule(CrontabSchedule schedule, string expression, TimeZoneInfo zone)
    {
        _schedule = schedule;
        Expression = expression;
        TimeZone = zone;
    }

    public string Expression { get; }

    public TimeZoneInfo TimeZone { get; }

    /// <summary>Parses 5 fields (minute hour day month weekday) or 6 (seconds first) in <paramref name="timeZone"/> (default UTC).</summary>
    /// <exception cref="FerryInputException">The expression or the time zone is not valid; the message says how to fix it.</exception>
    public static CronSchedule Parse(string expression, string? timeZone = null, SourceLocation? location = null)
    {
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var schedule = fields.Length is 5 or 6
            ? CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = fields.Length == 6 })
            : null;
        if (schedule is null)
            throw new FerryInputException("FERRY300", $"'{expression}' is not a valid cron schedule.", location,
                "Write 5 fields (minute hour day-of-month month day-of-week), e.g. \"30 6 * * 1-5\" for 06:30 on weekdays, or 6 with seconds first.");

        var zone = TimeZoneInfo.Utc;
        if (!string.IsNullOrWhiteSpace(timeZone) && !TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out zone))
        {
            var ids = TimeZoneInfo.GetSystemTimeZones().Select(z => z.Id).Append("UTC");
            throw new FerryInputException("FERRY301", $"Unknown time zone '{timeZone}'.", location,
                $"{Suggestions.DidYouMean(timeZone, ids)} Use an IANA id such as Africa/Kampala or Europe/London.".Trim());
        }
        return new CronSchedule(schedule, expression, zone!);
    }

    /// <summary>The first tick strictly after <paramref name="afterUtc"/>, in UTC; null if the schedule never fires again (e.g. 30 February).</summary>
    public DateTime? Next(DateTime afterUtc)
    {
        afterUtc = AsUtc(afterUtc);
        var local = TimeZoneInfo.ConvertTimeFromUtc(afterUtc, TimeZone);
        var end = local.AddYears(10);
        while (true)
        {
            local = _schedule.GetNextOccurrence(local, end);
            if (local >= end) return null;
            if (TimeZone.IsInvalidTime(local)) continue; // skipped by spring forward
            var utc = ToUtc(local);
            // In a repeated hour the same wall-clock time maps to two instants; the first may already be past.
            if (utc > afterUtc) return utc;
        }
    }

    /// <summary>
    /// The tick to run now, given the last tick that ran (or when the schedule started): the latest tick in
    /// (<paramref name="lastTickUtc"/>, <paramref name="nowUtc"/>], or null when none is due. After downtime, all
    /// missed ticks collapse into this one run; record the returned tick as the new last tick.
    /// </summary>
    public DateTime? Due(DateTime lastTickUtc, DateTime nowUtc)
    {
        lastTickUtc = AsUtc(lastTickUtc);
        nowUtc = AsUtc(nowUtc);
        var first = Next(lastTickUtc);
        if (first is null || first > nowUtc) return null;
        foreach (var window in CatchUpWindows)
        {
            var from = nowUtc - window;
            if (from <= first) break;
            if (Next(from) is { } t && t <= nowUtc) return LatestFrom(t, nowUtc);
        }
        return LatestFrom(first.Value, nowUtc);
    }

    private DateTime LatestFrom(DateTime tick, DateTime nowUtc)
    {
        while (Next(tick) is { } next && next <= nowUtc) tick = next;
        return tick;
    }

    private DateTime ToUtc(DateTime local)
    {
        if (!TimeZone.IsAmbiguousTime(local)) return TimeZoneInfo.ConvertTimeToUtc(local, TimeZone);
        // Fall back: the earlier instant is the one with the larger offset.
        var offset = TimeZone.GetAmbiguousTimeOffsets(local).Max();
        return DateTime.SpecifyKind(local - offset, DateTimeKind.Utc);
    }

    private static DateTime AsUtc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Utc => value,
        DateTimeKind.Local => value.ToUniversalTime(),
        _ => DateTime.SpecifyKind(value, DateTimeKind.Utc),
    };

    public override string ToString() => $"{Expression} ({TimeZone.Id})";
}
