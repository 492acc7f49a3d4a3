using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ferry.Server.Metrics;

/// <summary>
/// The server's instruments (System.Diagnostics.Metrics, so OpenTelemetry can export them too):
/// webhook intake by result, the intake journal's durable writes, runs by final state, step and run durations, claim
/// latency, and queue depth.
/// <see cref="PrometheusTextWriter"/> renders them for <c>/metrics</c>.
/// </summary>
public sealed class FerryMetrics : IDisposable
{
    public const string MeterName = "Ferry.Server";

    private static readonly double[] DurationBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];
    // A write and fsync: on the test VM's virtio disk 0.2 ms idle, 0.5–1 ms in a storm; SD cards and network disks far slower.
    private static readonly double[] JournalWriteBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
    private static readonly long[] JournalBatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    private readonly Counter<long> _intake;
    private readonly Histogram<double> _journalWrite;
    private readonly Histogram<long> _journalBatch;
    private readonly Counter<long> _runs;
    private readonly Histogram<double> _stepDuration;
    private readonly Histogram<double> _runDuration;
    private readonly Histogram<double> _claimLatency;
    private Func<long>? _queueDepth;
    private Func<long>? _intakeBacklog;

    public FerryMetrics()
    {
        Meter = new Meter(MeterName);
        _intake = Meter.CreateCounter<long>("ferry.intake.requests", "{request}", "Webhook requests by result (accepted, unauthorized, too_large, unsupported_media_type, malformed, disabled, misconfigured, not_found, unavailable, cancelled).");
        _journalWrite = Meter.CreateHistogram("ferry.intake.journal.write.duration", "s",
            "Time one durable write of the intake journal took (write and fsync). Every accepted webhook's 202 waits for one; concurrent requests share one.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = JournalWriteBuckets });
        _journalBatch = Meter.CreateHistogram<long>("ferry.intake.journal.batch_size", "{request}", "Webhook requests one durable write of the intake journal covered.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = JournalBatchBuckets });
        _runs = Meter.CreateCounter<long>("ferry.runs", "{run}", "Runs that reached a final state, by state.");
        _stepDuration = Meter.CreateHistogram("ferry.step.duration", "s", "Time a step took, from start to result.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _runDuration = Meter.CreateHistogram("ferry.run.duration", "s", "Time a run took, from claim to final state.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _claimLatency = Meter.CreateHistogram("ferry.run.claim_latency", "s", "Time a run waited in the queue before a worker claimed it.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        Meter.CreateObservableGauge("ferry.queue.depth", ObserveQueueDepth, "{run}", "Runs waiting in the queue.");
        Meter.CreateObservableGauge("ferry.intake.backlog", () => _intakeBacklog is { } backlog ? [new Measurement<long>(backlog())] : (IEnumerable<Measurement<long>>)[],
            "{request}", "Accepted webhook requests in the intake journal, not yet stored as work orders.");
    }

    public Meter Meter { get; }

    /// <summary>Where the queue depth comes from (the store); until set, the gauge reports nothing.</summary>
    public void ObserveQueueDepthWith(Func<long> queueDepth) => _queueDepth = queueDepth;

    /// <summary>Where the intake backlog comes from (the intake mover).</summary>
    public void ObserveIntakeBacklogWith(Func<long> backlog) => _intakeBacklog = backlog;

    public void IntakeRecorded(string result) => _intake.Add(1, new KeyValuePair<string, object?>("result", result));

    /// <summary>One durable write of the intake journal: <paramref name="requests"/> webhook requests, written and
    /// fsynced in <paramref name="duration"/>.</summary>
    public void IntakeJournaled(int requests, TimeSpan duration)
    {
        _journalWrite.Record(duration.TotalSeconds);
        _journalBatch.Record(requests);
    }

    public void RunFinished(string state, TimeSpan duration)
    {
        _runs.Add(1, new KeyValuePair<string, object?>("state", state));
        _runDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("state", state));
    }

    public void StepFinished(TimeSpan duration) => _stepDuration.Record(duration.TotalSeconds);

    public void RunClaimed(TimeSpan queueLatency) => _claimLatency.Record(queueLatency.TotalSeconds);

    private IEnumerable<Measurement<long>> ObserveQueueDepth()
    {
        var source = _queueDepth;
        if (source is null) return [];
        try
        {
            return [new Measurement<long>(source())];
        }
        catch (Exception e)
        {
            // A scrape must not fail because the store is briefly unreachable: report no value this time.
            Trace.TraceWarning($"ferry.queue.depth could not be read: {e.Message}");
            return [];
        }
    }

    public void Dispose() => Meter.Dispose();
}
