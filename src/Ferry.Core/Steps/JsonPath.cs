using System.Collections.Concurrent;
using System.Globalization;
using Ferry.Json;

namespace Ferry.Steps;

/// <summary>
/// JSONPath selection for step code: <c>JsonPath.Select(state, "$.data.cases[*].id")</c>. Supported: <c>$</c>,
/// <c>.name</c>, <c>['name']</c>, <c>[n]</c> (negative counts from the end), <c>[*]</c> and <c>.*</c>, <c>[a,b]</c>,
/// slices <c>[start:end]</c>, recursive descent <c>..name</c> / <c>..*</c>, and filters <c>[?(@.status == 'active')]</c>
/// with <c>== != &lt; &lt;= &gt; &gt;=</c>, <c>&amp;&amp;</c>, <c>||</c>, <c>!</c>, parentheses and existence <c>[?(@.phone)]</c>.
/// <see cref="Select"/> returns copies in a new array; <see cref="First"/> returns the value itself, so changing it changes state.
/// </summary>
[StepApi]
public static class JsonPath
{
    private static readonly ConcurrentDictionary<string, Step[]> Cache = new(StringComparer.Ordinal);

    /// <summary>Every value the path selects, in document order (an empty array when none).</summary>
    public static JsArray Select(object? value, string path)
    {
        var result = new JsArray();
        foreach (var v in Evaluate(value, path)) result.Add(v);
        return result;
    }

    /// <summary>The first value the path selects, or null.</summary>
    public static dynamic? First(object? value, string path) => Evaluate(value, path).FirstOrDefault();

    private static IEnumerable<object?> Evaluate(object? value, string path)
    {
        if (Cache.Count > 4096) Cache.Clear(); // paths built from data must not grow memory without bound
        var steps = Cache.GetOrAdd(path, p => new Parser(p).Parse());
        IEnumerable<object?> current = [Open(value)];
        foreach (var step in steps) current = current.SelectMany(step.Apply).ToList();
        return current;
    }

    internal static object? Open(object? value) => value is RawJson raw ? raw.Materialize() : Js.From(value);

    private static IEnumerable<object?> Children(object? node) => node switch
    {
        JsObject o => o.Keys.Select(k => (object?)o.Get(k)).ToList(),
        JsArray a => a,
        _ => [],
    };

    // ---- steps ----------------------------------------------------------------------------------------

    private abstract class Step
    {
        public abstract IEnumerable<object?> Apply(object? node);
    }

    private sealed class NameStep(string name) : Step
    {
        public override IEnumerable<object?> Apply(object? node) =>
            node is JsObject o && o.Has(name) ? [o.Get(name)] : [];
    }

    private sealed class IndexStep(int index) : Step
    {
        public override IEnumerable<object?> Apply(object? node)
        {
            if (node is not JsArray a) return [];
            var i = index < 0 ? a.Count + index : index;
            return i >= 0 && i < a.Count ? [a[i]] : [];
        }
    }

    private sealed class WildcardStep : Step
    {
        public override IEnumerable<object?> Apply(object? node) => Children(node);
    }

    private sealed class UnionStep(Step[] parts) : Step
    {
        public override IEnumerable<object?> Apply(object? node) => parts.SelectMany(p => p.Apply(node));
    }

    private sealed class SliceStep(int? start, int? end, int step) : Step
    {
        public override IEnumerable<object?> Apply(object? node)
        {
            if (node is not JsArray a) yield break;
            var n = a.Count;
            int Norm(int v) => v < 0 ? Math.Max(0, n + v) : Math.Min(n, v);
            if (step > 0)
            {
                for (var i = Norm(start ?? 0); i < Norm(end ?? n); i += step) yield return a[i];
            }
            else
            {
                var from = start is { } s ? (s < 0 ? n + s : Math.Min(s, n - 1)) : n - 1;
                var to = end is { } e ? (e < 0 ? n + e : e) : -1;
                for (var i = from; i > to && i >= 0; i += step) yield return a[i];
            }
        }
    }

    private sealed class DescendStep(Step inner) : Step
    {
        public override IEnumerable<object?> Apply(object? node)
        {
            var all = new List<object?>();
            Walk(node, all);
            return all.SelectMany(inner.Apply);
        }

        private static void Walk(object? node, List<object?> into)
        {
            into.Add(node);
            foreach (var child in Children(node))
            {
                if (child is JsObject or JsArray) Walk(child, into);
            }
        }
    }

    private sealed class FilterStep(Filter filter) : Step
    {
        public override IEnumerable<object?> Apply(object? node) => Children(node).Where(c => filter.Test(c));
    }

    // ---- filters --------------------------------------------------------------------------------------

    private abstract class Filter
    {
        public abstract bool Test(object? item);

        public virtual object? Value(object? item) => Test(item);
    }

    private sealed class PathOperand(Step[] steps) : Filter
    {
        public override bool Test(object? item) => Select(item).Any();

        public override object? Value(object? item) => Select(item).FirstOrDefault();

        private IEnumerable<object?> Select(object? item)
        {
            IEnumerable<object?> current = [item];
            foreach (var s in steps) current = current.SelectMany(s.Apply);
            return current;
        }
    }

    private sealed class Literal(object? value) : Filter
    {
        public override bool Test(object? item) => value is not (null or false);

        public override object? Value(object? item) => value;
    }

    private sealed class Not(Filter inner) : Filter
    {
        public override bool Test(object? item) => !inner.Test(item);
    }

    private sealed class Logical(Filter left, string op, Filter right) : Filter
    {
        public override bool Test(object? item) => op == "&&" ? left.Test(item) && right.Test(item) : left.Test(item) || right.Test(item);
    }

    private sealed class Comparison(Filter left, string op, Filter right) : Filter
    {
        public override bool Test(object? item)
        {
            var a = left.Value(item);
            var b = right.Value(item);
            if (Number(a) is { } x && Number(b) is { } y)
            {
                var c = x.CompareTo(y);
                return Compare(c);
            }
            if (a is string s && b is string t) return Compare(string.CompareOrdinal(s, t));
            var equal = Js.DeepEquals(a, b);
            return op switch { "==" => equal, "!=" => !equal, _ => false };
        }

        private bool Compare(int c) => op switch
        {
            "==" => c == 0,
            "!=" => c != 0,
            "<" => c < 0,
            "<=" => c <= 0,
            ">" => c > 0,
            _ => c >= 0,
        };

        private static decimal? Number(object? v) => v switch
        {
            int i => i,
            long l => l,
            decimal d => d,
            double d when double.IsFinite(d) && Math.Abs(d) < 7.9e28 => (decimal)d,
            _ => null,
        };
    }

    // ---- parser ---------------------------------------------------------------------------------------

    private sealed class Parser(string text)
    {
        private int _pos;

        public Step[] Parse()
        {
            var steps = new List<Step>();
            Space();
            if (Peek() == '$') _pos++;
            else if (Peek() is not ('.' or '[')) steps.Add(new NameStep(Name())); // "data.cases" without "$." is allowed
            ParseSteps(steps);
            if (_pos < text.Length) throw Error($"unexpected '{text[_pos]}'");
            return [.. steps];
        }

        private void ParseSteps(List<Step> steps)
        {
            while (_pos < text.Length)
            {
                var c = text[_pos];
                if (c == '.')
                {
                    if (At("..")) { _pos += 2; steps.Add(new DescendStep(Peek() == '[' ? Bracket() : Peek() == '*' ? Star() : new NameStep(Name()))); }
                    else { _pos++; steps.Add(Peek() == '*' ? Star() : new NameStep(Name())); }
                }
                else if (c == '[')
                {
                    steps.Add(Bracket());
                }
                else return;
            }
        }

        private WildcardStep Star()
        {
            _pos++;
            return new WildcardStep();
        }

        private Step Bracket()
        {
            Expect('[');
            Space();
            Step step;
            if (Peek() == '*') { _pos++; step = new WildcardStep(); }
            else if (Peek() == '?')
            {
                _pos++;
                Space();
                Expect('(');
                var filter = Or();
                Space();
                Expect(')');
                step = new FilterStep(filter);
            }
            else
            {
                var parts = new List<Step> { UnionPart() };
                Space();
                while (Peek() == ',') { _pos++; Space(); parts.Add(UnionPart()); Space(); }
                step = parts.Count == 1 ? parts[0] : new UnionStep([.. parts]);
            }
            Space();
            Expect(']');
            return step;
        }

        private Step UnionPart()
        {
            if (Peek() is '\'' or '"') return new NameStep(Quoted());
            var start = Int();
            Space();
            if (Peek() != ':')
            {
                return start is { } i ? new IndexStep(i) : throw Error("expected an index, a quoted name, '*', a slice or a filter '?(…)'");
            }
            _pos++;
            Space();
            var end = Int();
            Space();
            var step = 1;
            if (Peek() == ':')
            {
                _pos++;
                Space();
                step = Int() ?? 1;
                if (step == 0) throw Error("a slice step cannot be 0");
            }
            return new SliceStep(start, end, step);
        }

        private Filter Or()
        {
            var left = And();
            while (true)
            {
                Space();
                if (!At("||")) return left;
                _pos += 2;
                left = new Logical(left, "||", And());
            }
        }

        private Filter And()
        {
            var left = Comparison();
            while (true)
            {
                Space();
                if (!At("&&")) return left;
                _pos += 2;
                left = new Logical(left, "&&", Comparison());
            }
        }

        private Filter Comparison()
        {
            var left = Operand();
            Space();
            foreach (var op in (string[])["==", "!=", "<=", ">=", "<", ">"])
            {
                if (!At(op)) continue;
                _pos += op.Length;
                return new Comparison(left, op, Operand());
            }
            return left;
        }

        private Filter Operand()
        {
            Space();
            var c = Peek();
            if (c == '(')
            {
                _pos++;
                var inner = Or();
                Space();
                Expect(')');
                return inner;
            }
            if (c == '!' && !At("!="))
            {
                _pos++;
                return new Not(Operand());
            }
            if (c == '@')
            {
                _pos++;
                var steps = new List<Step>();
                ParseSteps(steps);
                return new PathOperand([.. steps]);
            }
            if (c is '\'' or '"') return new Literal(Quoted());
            if (At("true")) { _pos += 4; return new Literal(true); }
            if (At("false")) { _pos += 5; return new Literal(false); }
            if (At("null")) { _pos += 4; return new Literal(null); }
            var start = _pos;
            while (_pos < text.Length && (char.IsAsciiDigit(text[_pos]) || text[_pos] is '-' or '.' or 'e' or 'E' or '+')) _pos++;
            if (decimal.TryParse(text.AsSpan(start, _pos - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return new Literal(d);
            _pos = start;
            throw Error("expected @.field, a quoted text, a number, true, false or null");
        }

        private string Name()
        {
            var start = _pos;
            while (_pos < text.Length && text[_pos] is not ('.' or '[' or ']' or ' ' or ')' or '=' or '!' or '<' or '>' or '&' or '|' or ',')) _pos++;
            if (_pos == start) throw Error("expected a member name");
            return text[start.._pos];
        }

        private string Quoted()
        {
            var quote = text[_pos++];
            var b = new System.Text.StringBuilder();
            while (_pos < text.Length && text[_pos] != quote)
            {
                if (text[_pos] == '\\' && _pos + 1 < text.Length) _pos++;
                b.Append(text[_pos++]);
            }
            if (_pos >= text.Length) throw Error($"the text has no closing {quote}");
            _pos++;
            return b.ToString();
        }

        private int? Int()
        {
            var start = _pos;
            if (Peek() == '-') _pos++;
            while (_pos < text.Length && char.IsAsciiDigit(text[_pos])) _pos++;
            if (_pos == start) return null;
            return int.TryParse(text.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? i : throw Error("the index is not a whole number");
        }

        private char Peek() => _pos < text.Length ? text[_pos] : '\0';

        private bool At(string s) => string.CompareOrdinal(text, _pos, s, 0, s.Length) == 0;

        private void Space()
        {
            while (_pos < text.Length && text[_pos] == ' ') _pos++;
        }

        private void Expect(char c)
        {
            if (Peek() != c) throw Error($"expected '{c}'");
            _pos++;
        }

        private ArgumentException Error(string what) =>
            new($"JSONPath '{text}' is invalid at position {_pos + 1}: {what}. Example: $.data.cases[?(@.status == 'active')].id");
    }
}
