using Ferry.Json;
using Ferry.Steps;

namespace Ferry.Tests.Steps;

public class DatesTests
{
    [Fact]
    public void Reformat_reads_the_named_format_and_writes_the_other()
    {
        Assert.Equal("2024-01-31", Dates.Reformat("01/31/2024", from: "MM/dd/yyyy", to: "yyyy-MM-dd"));
        Assert.Equal("31 Jan 2024", Dates.Reformat("2024-01-31", from: "yyyy-MM-dd", to: "dd MMM yyyy"));
        Assert.Equal("2024-01-05", Dates.Reformat("1/5/2024", from: "M/d/yyyy", to: "yyyy-MM-dd"));
        Assert.Equal("2024-02-29", Dates.Reformat("29.02.2024", ["MM/dd/yyyy", "dd.MM.yyyy"], "yyyy-MM-dd"));
    }

    [Fact]
    public void Null_and_empty_text_give_null()
    {
        Assert.Null(Dates.Reformat(null, "MM/dd/yyyy", "yyyy-MM-dd"));
        Assert.Null(Dates.Parse("  ", "MM/dd/yyyy"));
        Assert.Null(Dates.Format(null, "yyyy"));
        Assert.Null(Dates.ToUtc(null, "Africa/Kampala"));
    }

    [Fact]
    public void A_value_in_another_format_is_refused_naming_the_value_and_the_format()
    {
        var e = Assert.Throws<FormatException>(() => Dates.Reformat("2024-01-31", "MM/dd/yyyy", "yyyy-MM-dd"));
        Assert.Contains("'2024-01-31' is not a date in the format MM/dd/yyyy", e.Message);
        Assert.Throws<FormatException>(() => Dates.Parse("02/30/2024", "MM/dd/yyyy"));
    }

    [Fact]
    public void Parse_with_a_time_zone_reads_clock_time_there()
    {
        var parsed = Dates.Parse("01/31/2024 08:00", "MM/dd/yyyy HH:mm", timeZone: "Africa/Kampala")!.Value;
        Assert.Equal(TimeSpan.FromHours(3), parsed.Offset);
        Assert.Equal(new DateTimeOffset(2024, 1, 31, 5, 0, 0, TimeSpan.Zero), parsed.ToUniversalTime());
        var utc = Dates.Parse("2024-01-31T08:00:00+01:00", "yyyy-MM-ddTHH:mm:sszzz", timeZone: "Africa/Kampala")!.Value;
        Assert.Equal(TimeSpan.FromHours(1), utc.Offset);
    }

    [Fact]
    public void ToUtc_and_FromUtc_convert_between_clock_time_and_utc_with_iana_zones()
    {
        Assert.Equal(new DateTimeOffset(2024, 7, 1, 9, 0, 0, TimeSpan.Zero), Dates.ToUtc("2024-07-01T12:00:00", "Africa/Kampala"));
        Assert.Equal(new DateTimeOffset(2024, 7, 1, 16, 0, 0, TimeSpan.Zero), Dates.ToUtc("2024-07-01T12:00:00", "America/New_York"));
        var local = Dates.FromUtc("2024-01-15T12:00:00Z", "America/New_York")!.Value;
        Assert.Equal((7, TimeSpan.FromHours(-5)), (local.Hour, local.Offset));
        Assert.Equal("2024-01-15 15:00", Dates.Format("2024-01-15T12:00:00Z", "yyyy-MM-dd HH:mm", "Africa/Kampala"));
    }

    [Fact]
    public void Unknown_time_zone_is_refused_with_did_you_mean()
    {
        var e = Assert.Throws<ArgumentException>(() => Dates.ToUtc("2024-01-01T00:00:00", "Africa/Kampla"));
        Assert.Contains("Unknown time zone 'Africa/Kampla'", e.Message);
        Assert.Contains("Did you mean 'Africa/Kampala'?", e.Message);
    }

    [Fact]
    public void Now_and_Today_are_in_the_requested_zone()
    {
        var now = Dates.Now("Africa/Kampala");
        Assert.Equal(TimeSpan.FromHours(3), now.Offset);
        Assert.True((DateTimeOffset.UtcNow - now).Duration() < TimeSpan.FromMinutes(1));
        Assert.Equal(DateOnly.FromDateTime(now.DateTime), Dates.Today("Africa/Kampala"));
    }

    [Fact]
    public void Step_code_can_call_it_with_dynamic_json_values()
    {
        dynamic state = Js.Parse("""{"data":{"reported":"03/15/2025","n":20250315}}""")!;
        string? iso = Dates.Reformat(state.data.reported, from: "MM/dd/yyyy", to: "yyyy-MM-dd");
        Assert.Equal("2025-03-15", iso);
        Assert.Equal("15/03/2025", (string?)Dates.Reformat(state.data.n, "yyyyMMdd", "dd/MM/yyyy"));
        state.data.when = Dates.Parse(state.data.reported, "MM/dd/yyyy");
        Assert.Equal("2025-03-15T00:00:00.0000000+00:00", (string)state.data.when);
    }
}
