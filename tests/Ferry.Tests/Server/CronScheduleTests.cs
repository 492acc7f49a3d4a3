using System.Diagnostics;
using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Server.Scheduling;

namespace Ferry.Tests.Server;

public sealed class CronScheduleTests
{
    private static DateTime Utc(string text) => DateTime.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private static List<DateTime> Ticks(CronSchedule schedule, string after, int count)
    {
        var list = new List<DateTime>();
        var t = Utc(after);
        for (var i = 0; i < count; i++)
        {
            t = schedule.Next(t)!.Value;
            list.Add(t);
        }
        return list;
    }

    [Fact]
    public void Kampala_schedule_fires_at_local_time_returned_in_utc()
    {
        var schedule = CronSchedule.Parse("0 6 * * *", "Africa/Kampala");

        var next = schedule.Next(Utc("2026-03-01T00:00:00Z"));

        Assert.Equal(Utc("2026-03-01T03:00:00Z"), next);
        Assert.Equal(DateTimeKind.Utc, next!.Value.Kind);
    }

    [Fact]
    public void London_daily_job_keeps_its_local_hour_across_spring_forward()
    {
        var schedule = CronSchedule.Parse("0 6 * * *", "Europe/London");

        Assert.Equal([Utc("2026-03-28T06:00:00Z"), Utc("2026-03-29T05:00:00Z"), Utc("2026-03-30T05:00:00Z")],
            Ticks(schedule, "2026-03-28T00:00:00Z", 3));
    }

    [Fact]
    public void A_local_time_skipped_by_spring_forward_does_not_fire_that_day()
    {
        var schedule = CronSchedule.Parse("30 1 * * *", "Europe/London");

        Assert.Equal([Utc("2026-03-28T01:30:00Z"), Utc("2026-03-30T00:30:00Z")], Ticks(schedule, "2026-03-28T00:00:00Z", 2));
    }

    [Fact]
    public void A_local_time_repeated_by_fall_back_fires_once_at_its_first_occurrence()
    {
        var schedule = CronSchedule.Parse("30 1 * * *", "Europe/London");

        Assert.Equal([Utc("2026-10-25T00:30:00Z"), Utc("2026-10-26T01:30:00Z")], Ticks(schedule, "2026-10-24T12:00:00Z", 2));
    }

    [Fact]
    public void Half_hourly_job_does_not_repeat_the_fall_back_hour()
    {
        var schedule = CronSchedule.Parse("*/30 * * * *", "Europe/London");

        Assert.Equal(
            [Utc("2026-10-25T00:00:00Z"), Utc("2026-10-25T00:30:00Z"), Utc("2026-10-25T02:00:00Z"), Utc("2026-10-25T02:30:00Z")],
            Ticks(schedule, "2026-10-24T23:50:00Z", 4));
    }

    [Fact]
    public void Next_from_inside_the_repeated_hour_goes_to_the_next_new_local_time()
    {
        var schedule = CronSchedule.Parse("*/15 * * * *", "Europe/London");

        Assert.Equal(Utc("2026-10-25T02:00:00Z"), schedule.Next(Utc("2026-10-25T01:20:00Z")));
    }

    [Fact]
    public void Six_field_schedule_has_seconds()
    {
        var schedule = CronSchedule.Parse("*/10 * * * * *");

        Assert.Equal(Utc("2026-01-01T00:00:10Z"), schedule.Next(Utc("2026-01-01T00:00:00Z")));
    }

    [Fact]
    public void Missed_ticks_after_downtime_collapse_into_one_run_at_the_latest_tick()
    {
        var schedule = CronSchedule.Parse("*/15 * * * *", "Africa/Kampala");

        Assert.Equal(Utc("2026-01-01T05:00:00Z"), schedule.Due(Utc("2026-01-01T00:00:00Z"), Utc("2026-01-01T05:07:00Z")));
        Assert.Null(schedule.Due(Utc("2026-01-01T05:00:00Z"), Utc("2026-01-01T05:07:00Z")));
        Assert.Equal(Utc("2026-01-01T05:15:00Z"), schedule.Due(Utc("2026-01-01T05:00:00Z"), Utc("2026-01-01T05:15:00Z")));
    }

    [Fact]
    public void Daily_job_down_for_ten_days_runs_once_for_the_latest_day()
    {
        var schedule = CronSchedule.Parse("0 6 * * *", "Europe/London");

        Assert.Equal(Utc("2026-07-11T05:00:00Z"), schedule.Due(Utc("2026-07-01T05:00:00Z"), Utc("2026-07-11T09:00:00Z")));
    }

    [Fact]
    public void Catching_up_a_year_of_a_per_second_schedule_is_fast()
    {
        var schedule = CronSchedule.Parse("* * * * * *");
        var watch = Stopwatch.StartNew();

        var due = schedule.Due(Utc("2025-01-01T00:00:00Z"), Utc("2026-01-01T00:00:02.500Z"));

        Assert.Equal(Utc("2026-01-01T00:00:02Z"), due);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }

    [Fact]
    public void A_schedule_that_never_fires_has_no_next_tick()
    {
        var schedule = CronSchedule.Parse("0 0 30 2 *");

        Assert.Null(schedule.Next(Utc("2026-01-01T00:00:00Z")));
        Assert.Null(schedule.Due(Utc("2026-01-01T00:00:00Z"), Utc("2027-01-01T00:00:00Z")));
    }

    [Theory]
    [InlineData("61 * * * *")]
    [InlineData("* * *")]
    public void Invalid_expression_is_refused_with_an_example(string expression)
    {
        var e = Assert.Throws<FerryInputException>(() => CronSchedule.Parse(expression, null, new SourceLocation("ferry.yaml", 12, 11)));

        Assert.Contains("ferry.yaml:12:11", e.Message, StringComparison.Ordinal);
        Assert.Contains("30 6 * * 1-5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_time_zone_is_refused_with_did_you_mean()
    {
        var e = Assert.Throws<FerryInputException>(() => CronSchedule.Parse("0 6 * * *", "Africa/Kampla"));

        Assert.Contains("Africa/Kampala", e.Message, StringComparison.Ordinal);
    }
}
