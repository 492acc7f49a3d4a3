using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Ferry.Spec;

/// <summary>
/// A small YAML node tree built from YamlDotNet's parser events. Unlike YamlDotNet's representation model it keeps
/// going past duplicate keys (they are collected so the spec reader can report every one of them at once) and keeps
/// the start mark of every node and key.
/// </summary>
internal abstract class YNode
{
    protected YNode(Mark start) => Start = start;

    public Mark Start { get; }

    /// <summary>1-based line of the node's first character.</summary>
    public int Line => (int)Start.Line;

    /// <summary>1-based column of the node's first character.</summary>
    public int Column => (int)Start.Column;

    /// <summary>"a mapping", "a list", "text" — for "expected …, found …" messages.</summary>
    public abstract string Kind { get; }
}

internal sealed class YScalar : YNode
{
    public YScalar(Mark start, string value, ScalarStyle style) : base(start)
    {
        Value = value;
        Style = style;
    }

    public string Value { get; }

    public ScalarStyle Style { get; }

    public bool IsQuoted => Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted;

    public bool IsBlock => Style is ScalarStyle.Literal or ScalarStyle.Folded;

    /// <summary>An empty value, <c>~</c> or <c>null</c> written without quotes.</summary>
    public bool IsNull => (Style is ScalarStyle.Plain or ScalarStyle.Any) && (Value is "" or "~" or "null" or "Null" or "NULL");

    public override string Kind => IsNull ? "an empty value" : "a single value";
}

internal sealed class YMap : YNode
{
    public YMap(Mark start) : base(start) { }

    /// <summary>Entries in the order written; the first of duplicated keys wins.</summary>
    public List<KeyValuePair<YScalar, YNode>> Entries { get; } = [];

    /// <summary>Keys written a second time (and which first key they repeat).</summary>
    public List<(YScalar Duplicate, YScalar First)> Duplicates { get; } = [];

    /// <summary>Keys that are not plain values (a list or mapping used as a key).</summary>
    public List<YNode> ComplexKeys { get; } = [];

    public override string Kind => "a mapping";

    public YNode? this[string key] => Entries.FirstOrDefault(e => e.Key.Value == key).Value;

    public YScalar? KeyOf(string key) => Entries.FirstOrDefault(e => e.Key.Value == key).Key;

    internal void Add(YScalar key, YNode value)
    {
        var first = KeyOf(key.Value);
        if (first is not null) Duplicates.Add((key, first));
        else Entries.Add(new(key, value));
    }
}

internal sealed class YSeq : YNode
{
    public YSeq(Mark start) : base(start) { }

    public List<YNode> Items { get; } = [];

    public override string Kind => "a list";
}

/// <summary>Reads YAML text into a <see cref="YNode"/> tree. Syntax errors surface as <see cref="YamlException"/>.</summary>
internal static class YamlTree
{
    /// <summary>The first document's root (null for an empty file) and whether more documents follow.</summary>
    public static (YNode? Root, bool MoreDocuments) Parse(string text)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
        parser.Consume<StreamStart>();
        if (parser.TryConsume<StreamEnd>(out _)) return (null, false);
        parser.Consume<DocumentStart>();
        var root = ReadNode(parser, anchors);
        parser.Consume<DocumentEnd>();
        var more = !parser.TryConsume<StreamEnd>(out _);
        return (root, more);
    }

    private static YNode ReadNode(IParser parser, Dictionary<string, YNode> anchors)
    {
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            return anchors.TryGetValue(alias.Value.Value, out var target)
                ? target
                : throw new YamlException(alias.Start, alias.End, $"The alias *{alias.Value.Value} refers to no anchor defined before it.");
        }
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            var node = new YScalar(scalar.Start, scalar.Value, scalar.Style);
            Remember(scalar.Anchor, node, anchors);
            return node;
        }
        if (parser.TryConsume<SequenceStart>(out var seqStart))
        {
            var seq = new YSeq(seqStart.Start);
            Remember(seqStart.Anchor, seq, anchors);
            while (!parser.TryConsume<SequenceEnd>(out _))
                seq.Items.Add(ReadNode(parser, anchors));
            return seq;
        }
        var mapStart = parser.Consume<MappingStart>();
        var map = new YMap(mapStart.Start);
        Remember(mapStart.Anchor, map, anchors);
        var merges = new List<YNode>();
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var key = ReadNode(parser, anchors);
            var value = ReadNode(parser, anchors);
            if (key is not YScalar k) map.ComplexKeys.Add(key);
            else if (k.Value == "<<" && k.Style is ScalarStyle.Plain) merges.Add(value);
            else map.Add(k, value);
        }
        // Merge keys (<<: *defaults): entries written in the mapping itself win over merged ones.
        foreach (var merged in merges.SelectMany(m => m is YSeq s ? s.Items : [m]).OfType<YMap>())
        {
            foreach (var entry in merged.Entries)
            {
                if (map.KeyOf(entry.Key.Value) is null) map.Entries.Add(entry);
            }
        }
        return map;
    }

    private static void Remember(AnchorName anchor, YNode node, Dictionary<string, YNode> anchors)
    {
        if (!anchor.IsEmpty) anchors[anchor.Value] = node;
    }
}
