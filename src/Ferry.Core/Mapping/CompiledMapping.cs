using System.Buffers;
using System.Text;
using System.Text.Json;
using Ferry.Json;

namespace Ferry.Mapping;

/// <summary>Where a value's bytes live while one record is mapped.</summary>
internal enum Buf : byte { Input, Scratch, Constant }

/// <summary>
/// A JSON value seen while mapping one record, as offsets into a buffer (no allocation): its JSON text
/// (<c>Raw*</c>) and, for strings, the unescaped UTF-8 content (<c>Text*</c>; numbers and literals: same as raw).
/// <see cref="Kind"/> is <see cref="JsonTokenType.None"/> when there is no value.
/// </summary>
internal struct Val
{
    public JsonTokenType Kind;
    public Buf RawBuf;
    public Buf TextBuf;
    public int RawStart;
    public int RawLen;
    public int TextStart;
    public int TextLen;
}

internal enum FieldKind : byte { Source, Constant, Compute }

internal enum Transform : byte { Trim, Upper, Lower }

internal sealed class SourceRef(int topSlot, byte[][] rest, int[] restIndexes)
{
    public int TopSlot { get; } = topSlot;

    /// <summary>Remaining path after the top-level member: a name (UTF-8) or, when null, the index at the same position.</summary>
    public byte[][] Rest { get; } = rest;

    public int[] RestIndexes { get; } = restIndexes;
}

internal abstract record CExpr
{
    public sealed record Ref(int Index) : CExpr;

    public sealed record Const(Val Value) : CExpr;

    public sealed record Call(string Function, CExpr[] Args) : CExpr;
}

internal sealed class CompiledField
{
    public required FieldMapping Spec { get; init; }

    public FieldKind Kind { get; init; }

    public int RefIndex { get; init; } = -1;

    public Val ConstValue { get; init; }

    public CExpr[]? TemplateParts { get; init; }

    public bool HasDefault { get; init; }

    public Val DefaultValue { get; init; }

    public Transform[] Transforms { get; init; } = [];

    public ValueMapLookup? Map { get; init; }

    public DatePattern[] From { get; init; } = [];

    public DatePattern? To { get; init; }
}

/// <summary>A code list compiled for lookups by UTF-8 text.</summary>
internal sealed class ValueMapLookup
{
    private readonly byte[][] _keys;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>>? _lookup;

    public ValueMapLookup(ValueMapSpec spec, Val[] outputs)
    {
        Spec = spec;
        Outputs = outputs;
        _keys = spec.Entries.Select(e => Encoding.UTF8.GetBytes(e.Key)).ToArray();
        if (_keys.Length > 16)
        {
            var dict = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < spec.Entries.Count; i++) dict.TryAdd(spec.Entries[i].Key, i);
            _lookup = dict.GetAlternateLookup<ReadOnlySpan<char>>();
        }
    }

    public ValueMapSpec Spec { get; }

    public Val[] Outputs { get; }

    public int Find(ReadOnlySpan<byte> key)
    {
        if (_lookup is { } lookup)
        {
            if (key.Length > 512) return -1;
            Span<char> chars = stackalloc char[key.Length];
            var n = Encoding.UTF8.GetChars(key, chars);
            return lookup.TryGetValue(chars[..n], out var index) ? index : -1;
        }
        for (var i = 0; i < _keys.Length; i++)
        {
            if (key.SequenceEqual(_keys[i])) return i;
        }
        return -1;
    }

    public string KnownCodes()
    {
        var codes = Spec.Entries.Select(e => e.Key).Take(20).ToList();
        return string.Join(", ", codes) + (Spec.Entries.Count > 20 ? ", …" : "");
    }
}

/// <summary>The output shape: nested objects and arrays whose leaves are fields.</summary>
internal sealed class OutNode
{
    public byte[] NameJson { get; init; } = [];

    public int Field { get; init; } = -1;

    public bool IsArray { get; init; }

    public int ArrayIndex { get; init; }

    public string Key { get; init; } = "";

    public List<OutNode> ChildList { get; } = [];

    public OutNode[] Children { get; set; } = [];
}

/// <summary>
/// A spec prepared for streaming: the top-level record members it needs, paths below them, constants
/// pre-encoded as JSON, value maps, date patterns and the output tree.
/// </summary>
internal sealed class CompiledMapping
{
    public const int TrueOffset = 0;
    public const int FalseOffset = 4;
    public const int NullOffset = 9;

    private readonly ArrayBufferWriter<byte> _constants = new();
    private readonly List<byte[]> _topKeys = [];
    private readonly List<SourceRef> _refs = [];
    private readonly Dictionary<string, int> _refByPath = new(StringComparer.Ordinal);

    public CompiledMapping(MappingSpec spec)
    {
        _constants.Write("truefalsenull"u8);
        SourcePath = FieldPath.Parse(spec.Source, out _);
        TargetPath = FieldPath.Parse(spec.Target, out _);
        RejectedPath = FieldPath.Parse(spec.Rejected, out _);
        var fields = new List<CompiledField>();
        foreach (var f in spec.Fields)
        {
            ValueMapLookup? map = null;
            if (f.ValueMap is { } vm)
            {
                // Outputs are converted to the field's type, so a named map is compiled once per field that uses it.
                map = new ValueMapLookup(vm, vm.Entries.Select(e => Constant(TypeConversion.ConvertConstant(e.Value, f.Type))).ToArray());
            }
            var kind = f.HasValue ? FieldKind.Constant : f.Compute is not null ? FieldKind.Compute : FieldKind.Source;
            var dateTo = f.DateTo ?? (f.DateFrom.Count > 0 ? "yyyy-MM-dd" : null);
            fields.Add(new CompiledField
            {
                Spec = f,
                Kind = kind,
                RefIndex = kind == FieldKind.Source ? Ref(f.Source!) : -1,
                ConstValue = kind == FieldKind.Constant ? Constant(TypeConversion.ConvertConstant(f.Value, f.Type)) : default,
                TemplateParts = kind == FieldKind.Compute ? CompileTemplate(f.Compute!) : null,
                HasDefault = f.HasDefault,
                DefaultValue = f.HasDefault ? Constant(TypeConversion.ConvertConstant(f.Default, f.Type)) : default,
                Transforms = f.Transforms.Select(t => Enum.Parse<Transform>(t, ignoreCase: true)).ToArray(),
                Map = map,
                From = f.DateFrom.Select(DatePattern.Get).ToArray(),
                To = dateTo is null ? null : DatePattern.Get(dateTo),
            });
        }
        Fields = [.. fields];
        TopKeys = [.. _topKeys];
        Refs = [.. _refs];
        Root = BuildTree(spec.Fields);
        Constants = _constants.WrittenSpan.ToArray();
    }

    public PathSegment[] SourcePath { get; }

    public PathSegment[] TargetPath { get; }

    public PathSegment[] RejectedPath { get; }

    public CompiledField[] Fields { get; }

    public byte[][] TopKeys { get; }

    public SourceRef[] Refs { get; }

    public OutNode Root { get; }

    public byte[] Constants { get; }

    private int Ref(string path)
    {
        if (_refByPath.TryGetValue(path, out var existing)) return existing;
        var segs = FieldPath.Parse(path, out _);
        var top = Encoding.UTF8.GetBytes(segs[0].Name ?? "");
        var slot = _topKeys.FindIndex(k => k.AsSpan().SequenceEqual(top));
        if (slot < 0)
        {
            slot = _topKeys.Count;
            _topKeys.Add(top);
        }
        var rest = segs.Skip(1).ToArray();
        var r = new SourceRef(slot, rest.Select(s => s.IsIndex ? null! : Encoding.UTF8.GetBytes(s.Name!)).ToArray(), rest.Select(s => s.Index).ToArray());
        _refs.Add(r);
        _refByPath[path] = _refs.Count - 1;
        return _refs.Count - 1;
    }

    /// <summary>Encodes a JSON value into the constant buffer.</summary>
    private Val Constant(object? value)
    {
        var json = Js.ToUtf8(value);
        var v = new Val { RawBuf = Buf.Constant, TextBuf = Buf.Constant, RawStart = _constants.WrittenCount, RawLen = json.Length };
        _constants.Write(json);
        v.Kind = value switch
        {
            null => JsonTokenType.Null,
            string => JsonTokenType.String,
            bool b => b ? JsonTokenType.True : JsonTokenType.False,
            JsObject => JsonTokenType.StartObject,
            JsArray => JsonTokenType.StartArray,
            _ => JsonTokenType.Number,
        };
        if (value is string s)
        {
            var text = Encoding.UTF8.GetBytes(s);
            v.TextStart = _constants.WrittenCount;
            v.TextLen = text.Length;
            _constants.Write(text);
        }
        else
        {
            v.TextStart = v.RawStart;
            v.TextLen = v.RawLen;
        }
        return v;
    }

    private CExpr[] CompileTemplate(string text)
    {
        var template = Template.Parse(text, out _)!;
        return template.Parts.Select(p => p switch
        {
            TemplatePart.Text t => new CExpr.Const(Constant(t.Value)),
            TemplatePart.Expr e => CompileExpr(e.Expression),
            _ => throw new InvalidOperationException("unknown template part"),
        }).ToArray();
    }

    private CExpr CompileExpr(TemplateExpr e) => e switch
    {
        TemplateExpr.Path p => new CExpr.Ref(Ref(p.Text)),
        TemplateExpr.Literal l => new CExpr.Const(Constant(l.Value)),
        TemplateExpr.Call c => new CExpr.Call(c.Function, c.Args.Select(CompileExpr).ToArray()),
        _ => throw new InvalidOperationException("unknown template expression"),
    };

    private static OutNode BuildTree(IReadOnlyList<FieldMapping> fields)
    {
        var root = new OutNode();
        for (var i = 0; i < fields.Count; i++)
        {
            var segs = FieldPath.Parse(fields[i].Target, out _);
            var node = root;
            for (var k = 0; k < segs.Length; k++)
            {
                var seg = segs[k];
                var key = seg.ToString();
                var last = k == segs.Length - 1;
                var child = node.ChildList.Find(c => c.Key == key);
                if (child is null)
                {
                    child = new OutNode
                    {
                        Key = key,
                        NameJson = seg.IsIndex ? [] : Js.ToUtf8(seg.Name).Append((byte)':').ToArray(),
                        ArrayIndex = seg.Index,
                        Field = last ? i : -1,
                        IsArray = !last && segs[k + 1].IsIndex,
                    };
                    node.ChildList.Add(child);
                }
                node = child;
            }
        }
        Freeze(root);
        return root;
    }

    private static void Freeze(OutNode node)
    {
        var children = node.IsArray ? node.ChildList.OrderBy(c => c.ArrayIndex) : node.ChildList.AsEnumerable();
        node.Children = children.ToArray();
        foreach (var c in node.Children) Freeze(c);
    }
}
