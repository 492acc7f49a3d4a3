using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Ferry.Server.Metrics;

/// <summary>
/// Collects the measurements of one <see cref="Meter"/> with a <see cref="MeterListener"/> and renders them in the
/// Prometheus text exposition format (version 0.0.4): counters as <c>_total</c>, gauges as is, histograms as
/// cumulative <c>_bucket{le=…}</c> lines plus <c>_sum</c> and <c>_count</c>. Names are the instrument names with
/// dots turned into underscores and the unit appended (<c>s</c> → <c>_seconds</c>).
/// </summary>
/// <remarks>Create it before anything is recorded: a listener only sees measurements made after it subscribed.</remarks>
public sealed class PrometheusTextWriter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, InstrumentState> _instruments = new();
    private readonly Lock _renderGate = new();
    private int _published;

    public PrometheusTextWriter(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!ReferenceEquals(instrument.Meter, meter)) return;
            var state = _instruments.GetOrAdd(instrument, i => new InstrumentState(i, Interlocked.Increment(ref _published)));
            listener.EnableMeasurementEvents(instrument, state);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>The current values of every instrument, in the Prometheus text format.</summary>
    public string Render()
    {
        lock (_renderGate)
        {
            foreach (var state in _instruments.Values.Where(s => s.IsObservable)) state.Reset();
            _listener.RecordObservableInstruments();
            var text = new StringBuilder();
            foreach (var state in _instruments.Values.OrderBy(s => s.Order)) state.WriteTo(text);
            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    internal static string NameOf(Instrument instrument)
    {
        var name = new StringBuilder(instrument.Name.Length + 16);
        foreach (var c in instrument.Name) name.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        var unit = instrument.Unit switch
        {
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            _ => null, // {curly} units are annotations, not units
        };
        if (unit is not null && !instrument.Name.EndsWith(unit, StringComparison.Ordinal)) name.Append('_').Append(unit);
        if (IsCounter(instrument)) name.Append("_total");
        return name.ToString();
    }

    private static bool IsCounter(Instrument i) => i.GetType().IsGenericType &&
        i.GetType().GetGenericTypeDefinition() is var d && (d == typeof(Counter<>) || d == typeof(ObservableCounter<>));

    private static bool IsHistogram(Instrument i) => i.GetType().IsGenericType && i.GetType().GetGenericTypeDefinition() == typeof(Histogram<>);

    internal static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString(CultureInfo.InvariantCulture),
    };

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0) return "";
        var sorted = tags.ToArray();
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder();
        foreach (var (key, value) in sorted)
        {
            text.Append(text.Length == 0 ? "" : ",");
            foreach (var c in key) text.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
            text.Append("=\"");
            foreach (var c in Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")
            {
                text.Append(c switch
                {
                    '\\' => "\\\\",
                    '"' => "\\\"",
                    '\n' => "\\n",
                    _ => c.ToString(),
                });
            }
            text.Append('"');
        }
        return text.ToString();
    }

    private sealed class InstrumentState
    {
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
        // The series of a one-tag measurement by its tag (intake's result, a run's state): found without building its
        // label text, which every webhook request would otherwise do.
        private readonly ConcurrentDictionary<(string Key, string Value), Series> _byTag = new();
        private readonly double[] _bounds;
        private readonly string _name;
        private readonly string _type;

        public InstrumentState(Instrument instrument, int order)
        {
            Instrument = instrument;
            Order = order;
            _name = NameOf(instrument);
            IsObservable = instrument.IsObservable;
            var histogram = IsHistogram(instrument);
            _type = histogram ? "histogram" : IsCounter(instrument) ? "counter" : "gauge";
            _bounds = !histogram ? []
                : (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries?.ToArray()
                  ?? (instrument as Histogram<long>)?.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray()
                  ?? DefaultBuckets;
        }

        public Instrument Instrument { get; }

        public int Order { get; }

        public bool IsObservable { get; }

        public void Reset()
        {
            _series.Clear();
            _byTag.Clear();
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = Find(tags);
            lock (series)
            {
                switch (_type)
                {
                    case "histogram":
                        var i = Array.BinarySearch(_bounds, value);
                        series.Buckets[i >= 0 ? i : ~i]++;
                        series.Sum += value;
                        series.Count++;
                        break;
                    case "counter" when !IsObservable:
                        series.Value += value;
                        break;
                    default:
                        series.Value = value;
                        break;
                }
            }
        }

        private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 1 && tags[0].Value is string value)
            {
                var tag = (tags[0].Key, value);
                if (_byTag.TryGetValue(tag, out var known)) return known;
                known = _series.GetOrAdd(Labels(tags), static (_, bounds) => new Series(bounds.Length), _bounds);
                _byTag.TryAdd(tag, known);
                return known;
            }
            return _series.GetOrAdd(Labels(tags), static (_, bounds) => new Series(bounds.Length), _bounds);
        }

        public void WriteTo(StringBuilder text)
        {
            if (_series.IsEmpty) return;
            if (!string.IsNullOrEmpty(Instrument.Description)) text.Append("# HELP ").Append(_name).Append(' ').Append(Instrument.Description.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
            text.Append("# TYPE ").Append(_name).Append(' ').Append(_type).Append('\n');
            foreach (var (labels, series) in _series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                lock (series)
                {
                    if (_type != "histogram")
                    {
                        text.Append(_name).Append(Braces(labels)).Append(' ').Append(Number(series.Value)).Append('\n');
                        continue;
                    }
                    long cumulative = 0;
                    for (var b = 0; b <= _bounds.Length; b++)
                    {
                        cumulative += series.Buckets[b];
                        var le = b < _bounds.Length ? Number(_bounds[b]) : "+Inf";
                        var all = labels.Length == 0 ? $"le=\"{le}\"" : $"{labels},le=\"{le}\"";
                        text.Append(_name).Append("_bucket{").Append(all).Append("} ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    }
                    text.Append(_name).Append("_sum").Append(Braces(labels)).Append(' ').Append(Number(series.Sum)).Append('\n');
                    text.Append(_name).Append("_count").Append(Braces(labels)).Append(' ').Append(series.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }

        private static string Braces(string labels) => labels.Length == 0 ? "" : "{" + labels + "}";
    }

    private sealed class Series(int bounds)
    {
        public readonly long[] Buckets = new long[bounds + 1];
        public double Value;
        public double Sum;
        public long Count;
    }
}
