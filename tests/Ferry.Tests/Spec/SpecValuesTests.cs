using Ferry.Spec;

namespace Ferry.Tests.Spec;

public class SpecValuesTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("2d", 172_800_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1.5s", 1_500)]
    public void Durations_are_parsed(string text, long milliseconds)
    {
        Assert.True(SpecValues.TryParseDuration(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Theory]
    [InlineData("30")]
    [InlineData("5 minutes")]
    [InlineData("m5")]
    [InlineData("")]
    public void Durations_without_a_unit_are_refused(string text) => Assert.False(SpecValues.TryParseDuration(text, out _));

    [Theory]
    [InlineData("10MB", 10L * 1024 * 1024)]
    [InlineData("512KB", 512L * 1024)]
    [InlineData("1GB", 1L << 30)]
    [InlineData("2048", 2048L)]
    [InlineData("1.5MB", 1_572_864L)]
    public void Sizes_are_parsed(string text, long bytes)
    {
        Assert.True(SpecValues.TryParseSize(text, out var value));
        Assert.Equal(bytes, value);
    }

    [Theory]
    [InlineData("ten MB")]
    [InlineData("10XB")]
    [InlineData("-1")]
    public void Bad_sizes_are_refused(string text) => Assert.False(SpecValues.TryParseSize(text, out _));

    [Fact]
    public void Durations_format_back_to_the_same_notation() =>
        Assert.Equal("1d2h30m500ms", SpecValues.FormatDuration(new TimeSpan(1, 2, 30, 0, 500)));
}
