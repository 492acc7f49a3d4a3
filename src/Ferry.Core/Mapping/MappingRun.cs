using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Ferry.Json;

namespace Ferry.Mapping;

/// <summary>
/// One execution of a compiled mapping over a UTF-8 records array. Records are read with
/// <see cref="Utf8JsonReader"/> (no DOM); each needed member is kept as offsets (<see cref="Val"/>);
/// derived values go to a per-record scratch buffer; the output is written byte by byte into one
/// buffer presized from the input, which becomes the target's <see cref="RawJson"/>.
/// </summary>
internal sealed partial class MappingRun
{
    private static readonly SearchValues<byte> NeedsEscape = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    private readonly CompiledMapping _m;
    private readonly ReadOnlyMemory<byte> _input;
    private readonly MappingErrorMode _mode;
    private readonly MappingReport _report;
    private readonly Val[] _slots;
    private readonly Val[] _refs;
    private readonly Val[] _results;
    private readonly List<(int Field, string Rule, string Message)> _errors = [];
    private byte[] _scratch = new byte[4096];
    private int _scratchLen;
    private byte[] _out;
    private int _outLen;
    private JsArray? _rejected;

    public MappingRun(CompiledMapping m, ReadOnlyMemory<byte> input, MappingErrorMode mode, MappingReport report)
    {
        _m = m;
        _input = input;
        _mode = mode;
        _report = report;
        _slots = new Val[m.TopKeys.Length];
        _refs = new Val[m.Refs.Length];
        _results = new Val[m.Fields.Length];
        _out = [];
    }

    /// <summary>Set by another thread to make <see cref="RunRecords"/> return early (its work will be discarded).</summary>
    public volatile bool Cancelled;

    public JsArray? Rejected => _rejected;

    /// <summary>The run mapping the records after <c>stopAt</c>; cancelled when this run proves the split wrong.</summary>
    public MappingRun? Next { get; set; }

    public ReadOnlySpan<byte> Output => _out.AsSpan(0, _outLen);

    /// <summary>Maps the single record (an object) that the input is.</summary>
    public void RunSingle()
    {
        _out = new byte[Math.Max(64, _input.Length + (_input.Length / 8))];
        var span = _input.Span;
        Span<byte> nameBuffer = stackalloc byte[256];
        if (!ProcessRecord(span, SkipSpace(span, 0), 0, nameBuffer, out _)) _outLen = 0;
        if (_outLen == 0) Put("null"u8);
    }

    /// <summary>
    /// Maps the records of the input array from the record starting at <paramref name="position"/> up to the array's end,
    /// or until the next record would start exactly at <paramref name="stopAt"/>. Records are written comma-separated,
    /// without brackets. Returns the position where it stopped (<paramref name="stopAt"/>) or -1 at the end of the array.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a fresh `ferry run` maps a million records before tiered JIT would optimize this
    public int RunRecords(int position, int stopAt)
    {
        var span = _input.Span;
        var segment = (stopAt > position ? stopAt : span.Length) - position;
        _out = new byte[Math.Clamp(segment + (segment / 16), 64, 1 << 20)];
        var sized = false;
        Span<byte> nameBuffer = stackalloc byte[256];
        var pos = SkipSpace(span, position);
        if (span[pos] == (byte)']') return -1;
        var index = 0;
        while (true)
        {
            if (pos == stopAt) return pos;
            if (stopAt >= 0 && pos > stopAt && Next is { Cancelled: false } next) next.Cancelled = true;
            if (_report.Stopped || Cancelled) return -1;
            ProcessRecord(span, pos, index++, nameBuffer, out var end);
            pos = SkipSpace(span, end);
            if (!sized && index == 1000)
            {
                // Size the output from what the first records turned into, so memory stays close to the result's size.
                sized = true;
                var expected = (long)((double)_outLen / (pos - position) * segment * 1.04) + 4096;
                if (expected > _out.Length) Resize((int)Math.Min(expected, Array.MaxLength));
            }
            if (span[pos] == (byte)',')
            {
                pos = SkipSpace(span, pos + 1);
                continue;
            }
            if (span[pos] == (byte)']') return -1;
            throw new JsonException($"Expected ',' or ']' after record {index - 1} at byte {pos}.");
        }
    }

    private static int SkipSpace(ReadOnlySpan<byte> span, int pos)
    {
        while (pos < span.Length && span[pos] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') pos++;
        if (pos >= span.Length) throw new JsonException("The records array ends early.");
        return pos;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ProcessRecord(ReadOnlySpan<byte> span, int start, int index, scoped Span<byte> nameBuffer, out int end)
    {
        _report.Read++;
        _scratchLen = 0;
        _errors.Clear();
        if (span[start] != (byte)'{')
        {
            end = ValueEnd(span, start, out var kind, out _);
            _errors.Add((-1, "record", $"record {index} is {KindName(kind)}, not an object: every record must be a JSON object"));
            Reject(index, start, end);
            return false;
        }
        Array.Clear(_slots);
        end = ScanRecord(span, start, nameBuffer);
        ResolveRefs();
        var fields = _m.Fields;
        for (var i = 0; i < fields.Length; i++) _results[i] = Evaluate(fields[i], i);
        if (_errors.Count > 0)
        {
            Reject(index, start, end);
            return false;
        }
        if (_report.Mapped > 0) Put((byte)',');
        WriteObject(_m.Root);
        _report.Mapped++;
        return true;
    }

    /// <summary>Records the current token (offsets relative to <paramref name="baseOffset"/> in the input).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Capture(ref Utf8JsonReader reader, int baseOffset, ref Val v)
    {
        var start = baseOffset + (int)reader.TokenStartIndex;
        v.Kind = reader.TokenType;
        v.RawBuf = Buf.Input;
        v.TextBuf = Buf.Input;
        v.RawStart = start;
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                var len = reader.ValueSpan.Length;
                v.RawLen = len + 2;
                if (!reader.ValueIsEscaped)
                {
                    v.TextStart = start + 1;
                    v.TextLen = len;
                }
                else
                {
                    EnsureScratch(len);
                    var n = reader.CopyString(_scratch.AsSpan(_scratchLen));
                    v.TextBuf = Buf.Scratch;
                    v.TextStart = _scratchLen;
                    v.TextLen = n;
                    _scratchLen += n;
                }
                return;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                reader.Skip();
                v.RawLen = baseOffset + (int)reader.BytesConsumed - start;
                break;
            default:
                v.RawLen = reader.ValueSpan.Length;
                break;
        }
        v.TextStart = v.RawStart;
        v.TextLen = v.RawLen;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ResolveRefs()
    {
        var refs = _m.Refs;
        for (var i = 0; i < refs.Length; i++)
        {
            var r = refs[i];
            var top = _slots[r.TopSlot];
            _refs[i] = r.Rest.Length == 0 ? top : ResolveNested(top, r);
        }
    }

    private Val ResolveNested(Val container, SourceRef r)
    {
        if (container.Kind is not (JsonTokenType.StartObject or JsonTokenType.StartArray)) return default;
        var reader = new Utf8JsonReader(_input.Span.Slice(container.RawStart, container.RawLen));
        reader.Read();
        for (var k = 0; k < r.Rest.Length; k++)
        {
            var name = r.Rest[k];
            if (name is null)
            {
                if (reader.TokenType != JsonTokenType.StartArray) return default;
                for (var e = 0; ; e++)
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.EndArray) return default;
                    if (e == r.RestIndexes[k]) break;
                    reader.Skip();
                }
            }
            else
            {
                if (reader.TokenType != JsonTokenType.StartObject) return default;
                var found = false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var match = reader.ValueTextEquals(name);
                    reader.Read();
                    if (match) { found = true; break; }
                    reader.Skip();
                }
                if (!found) return default;
            }
        }
        var v = default(Val);
        Capture(ref reader, container.RawStart, ref v);
        return v;
    }

    // ---- rejection ----------------------------------------------------------------------------------

    private void Reject(int index, int start, int end)
    {
        _report.Rejected++;
        var record = _input.Span[start..end];
        var excerpt = Mapper.Excerpt(Encoding.UTF8.GetString(record[..Math.Min(record.Length, 800)]));
        foreach (var (field, rule, message) in _errors)
        {
            var target = field >= 0 ? _m.Fields[field].Spec.Target : "";
            _report.Add(new MappingIssue(index, target, rule, message, excerpt));
        }
        if (_mode == MappingErrorMode.Stop)
        {
            _report.Stopped = true;
            return;
        }
        var (f0, rule0, message0) = _errors[0];
        var entry = new JsObject(6);
        entry.Set("index", index);
        entry.Set("rule", rule0);
        entry.Set("field", f0 >= 0 ? _m.Fields[f0].Spec.Target : null);
        entry.Set("message", message0);
        entry.Set("record", new RawJson(record.ToArray()));
        if (_errors.Count > 1)
        {
            var all = new JsArray(_errors.Count);
            foreach (var (field, rule, message) in _errors)
            {
                var issue = new JsObject(3);
                issue.Set("rule", rule);
                issue.Set("field", field >= 0 ? _m.Fields[field].Spec.Target : null);
                issue.Set("message", message);
                all.Add(issue);
            }
            entry.Set("issues", all);
        }
        (_rejected ??= []).Add(entry);
    }

    private static string KindName(JsonTokenType kind) => kind switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a text",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "an object",
    };

    private string Show(in Val v)
    {
        var text = v.Kind == JsonTokenType.String ? Text(v) : Raw(v);
        var s = Encoding.UTF8.GetString(text[..Math.Min(text.Length, 120)]);
        return v.Kind == JsonTokenType.String ? $"'{s}'" : s;
    }

    private static bool IsBlank(ReadOnlySpan<byte> text) => text.Trim(" \t\r\n"u8).IsEmpty;

    private static bool TryFormatLong(long value, Span<byte> dest, out int written) => Utf8Formatter.TryFormat(value, dest, out written);
}
