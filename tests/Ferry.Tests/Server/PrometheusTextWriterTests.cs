using System.Diagnostics.Metrics;
using Ferry.Server.Metrics;

namespace Ferry.Tests.Server;

public sealed class PrometheusTextWriterTests
{
    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Counters_are_rendered_with_total_suffix_help_type_and_sorted_labels()
    {
        using var metrics = new FerryMetrics();
        using var writer = new PrometheusTextWriter(metrics.Meter);

        metrics.IntakeRecorded("accepted");
        metrics.IntakeRecorded("accepted");
        metrics.IntakeRecorded("unauthorized");

        var lines = Lines(writer.Render());
        Assert.Contains("# TYPE ferry_intake_requests_total counter", lines);
        Assert.Contains(lines, l => l.StartsWith("# HELP ferry_intake_requests_total Webhook requests by result", StringComparison.Ordinal));
        Assert.Contains("ferry_intake_requests_total{result=\"accepted\"} 2", lines);
        Assert.Contains("ferry_intake_requests_total{result=\"unauthorized\"} 1", lines);
    }

    [Fact]
    public void Histograms_have_cumulative_buckets_sum_and_count()
    {
        using var metrics = new FerryMetrics();
        using var writer = new PrometheusTextWriter(metrics.Meter);

        metrics.StepFinished(TimeSpan.FromMilliseconds(3));
        metrics.StepFinished(TimeSpan.FromMilliseconds(5));
        metrics.StepFinished(TimeSpan.FromSeconds(400));

        var lines = Lines(writer.Render());
        Assert.Contains("# TYPE ferry_step_duration_seconds histogram", lines);
        Assert.Contains("ferry_step_duration_seconds_bucket{le=\"0.001\"} 0", lines);
        Assert.Contains("ferry_step_duration_seconds_bucket{le=\"0.005\"} 2", lines);
        Assert.Contains("ferry_step_duration_seconds_bucket{le=\"300\"} 2", lines);
        Assert.Contains("ferry_step_duration_seconds_bucket{le=\"+Inf\"} 3", lines);
        Assert.Contains("ferry_step_duration_seconds_sum 400.008", lines);
        Assert.Contains("ferry_step_duration_seconds_count 3", lines);
        var buckets = lines.Where(l => l.StartsWith("ferry_step_duration_seconds_bucket", StringComparison.Ordinal))
            .Select(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(buckets.Order(), buckets);
    }

    [Fact]
    public void Run_histogram_labels_come_before_le()
    {
        using var metrics = new FerryMetrics();
        using var writer = new PrometheusTextWriter(metrics.Meter);

        metrics.RunFinished("success", TimeSpan.FromMilliseconds(20));

        var lines = Lines(writer.Render());
        Assert.Contains("ferry_runs_total{state=\"success\"} 1", lines);
        Assert.Contains("ferry_run_duration_seconds_bucket{state=\"success\",le=\"0.025\"} 1", lines);
        Assert.Contains("ferry_run_duration_seconds_count{state=\"success\"} 1", lines);
    }

    [Fact]
    public void Queue_depth_gauge_reads_its_callback_at_each_scrape()
    {
        using var metrics = new FerryMetrics();
        using var writer = new PrometheusTextWriter(metrics.Meter);
        Assert.DoesNotContain("ferry_queue_depth", writer.Render(), StringComparison.Ordinal);

        var depth = 7L;
        metrics.ObserveQueueDepthWith(() => depth);
        Assert.Contains("ferry_queue_depth 7", Lines(writer.Render()));
        Assert.Contains("# TYPE ferry_queue_depth gauge", Lines(writer.Render()));

        depth = 0;
        Assert.Contains("ferry_queue_depth 0", Lines(writer.Render()));
    }

    [Fact]
    public void A_failing_queue_depth_callback_does_not_break_the_scrape()
    {
        using var metrics = new FerryMetrics();
        using var writer = new PrometheusTextWriter(metrics.Meter);
        metrics.ObserveQueueDepthWith(() => throw new InvalidOperationException("database is locked"));
        metrics.IntakeRecorded("accepted");

        var text = writer.Render();

        Assert.DoesNotContain("ferry_queue_depth ", text, StringComparison.Ordinal);
        Assert.Contains("ferry_intake_requests_total{result=\"accepted\"} 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Label_values_are_escaped_and_other_meters_are_ignored()
    {
        using var meter = new Meter("test.escape");
        using var other = new Meter("test.other");
        using var writer = new PrometheusTextWriter(meter);
        meter.CreateCounter<long>("odd.names-here").Add(1, new KeyValuePair<string, object?>("path", "a\"b\\c\nd"));
        other.CreateCounter<long>("not.mine").Add(5);

        var text = writer.Render();

        Assert.Contains("odd_names_here_total{path=\"a\\\"b\\\\c\\nd\"} 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("not_mine", text, StringComparison.Ordinal);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Instruments_with_no_measurements_are_left_out()
    {
        using var metrics = new FerryMetrics();
        using var writer = new PrometheusTextWriter(metrics.Meter);

        Assert.Equal("", writer.Render());
    }
}
