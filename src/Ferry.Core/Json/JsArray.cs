using System.Collections;
using System.Dynamic;
using System.Linq.Expressions;
using System.Reflection;

namespace Ferry.Json;

/// <summary>
/// A JSON array with JavaScript-like access from step code: <c>rows[0]</c>, <c>rows.Length</c> (also
/// <c>length</c>, <c>Count</c>), an index past the end reads <c>null</c>, <c>foreach</c> works directly,
/// and <c>IEnumerable&lt;dynamic&gt; rows = state.data.rows;</c> opens LINQ. Functions: <c>Add</c>/<c>push</c>,
/// <c>Clone</c>, <c>ToString</c>.
/// </summary>
public sealed class JsArray : IDynamicMetaObjectProvider, IList<object?>, IReadOnlyList<object?>
{
    private object?[] _items;
    private int _count;

    public JsArray() : this(4) { }

    public JsArray(int capacity) => _items = capacity == 0 ? [] : new object?[capacity];

    public JsArray(IEnumerable<object?> items) : this(4)
    {
        foreach (var item in items) Add(item);
    }

    internal object? Parent { get; set; }

    public int Count => _count;

    public int Length => _count;

    bool ICollection<object?>.IsReadOnly => false;

    public object? this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count) return null;
            var v = _items[index];
            if (v is RawJson raw)
            {
                v = raw.Materialize();
                Adopt(v);
                _items[index] = v;
            }
            return v;
        }
        set
        {
            if (index < 0) throw new JsonAccessException($"Array index {index} is negative.");
            value = Js.DetachOrCopy(Js.From(value), this);
            while (index >= _count) AddRaw(null);
            Js.Orphan(_items[index]);
            _items[index] = value;
            Adopt(value);
        }
    }

    /// <summary>Reads an element without materializing raw JSON.</summary>
    public object? GetUnmaterialized(int index) => (uint)index < (uint)_count ? _items[index] : null;

    public void Add(object? item)
    {
        var value = Js.DetachOrCopy(Js.From(item), this);
        AddRaw(value);
        Adopt(value);
    }

    /// <summary>Appends a value known to be JSON already (parsers use it).</summary>
    internal void AddRaw(object? value)
    {
        if (_count == _items.Length) Array.Resize(ref _items, Math.Max(4, _count * 2));
        _items[_count++] = value;
        if (value is JsObject or JsArray) Adopt(value);
    }

    public JsArray Clone()
    {
        var copy = new JsArray(_count);
        for (var i = 0; i < _count; i++) copy.AddRaw(Js.Clone(_items[i]));
        return copy;
    }

    public override string ToString() => Js.ToJson(this);

    public void Clear()
    {
        for (var i = 0; i < _count; i++) Js.Orphan(_items[i]);
        Array.Clear(_items, 0, _count);
        _count = 0;
    }

    public bool Contains(object? item) => IndexOf(item) >= 0;

    public int IndexOf(object? item)
    {
        for (var i = 0; i < _count; i++)
        {
            if (Equals(this[i], item)) return i;
        }
        return -1;
    }

    public void Insert(int index, object? item)
    {
        if (index < 0 || index > _count) throw new JsonAccessException($"Cannot insert at {index}: the array has {_count} elements.");
        var value = Js.DetachOrCopy(Js.From(item), this);
        AddRaw(null);
        Array.Copy(_items, index, _items, index + 1, _count - index - 1);
        _items[index] = value;
        Adopt(value);
    }

    public bool Remove(object? item)
    {
        var i = IndexOf(item);
        if (i < 0) return false;
        RemoveAt(i);
        return true;
    }

    public void RemoveAt(int index)
    {
        if ((uint)index >= (uint)_count) return;
        Js.Orphan(_items[index]);
        Array.Copy(_items, index + 1, _items, index, _count - index - 1);
        _items[--_count] = null;
    }

    public void CopyTo(object?[] array, int arrayIndex)
    {
        for (var i = 0; i < _count; i++) array[arrayIndex + i] = this[i];
    }

    public IEnumerator<object?> GetEnumerator()
    {
        for (var i = 0; i < _count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void Adopt(object? value)
    {
        switch (value)
        {
            case JsObject o: o.Parent = this; break;
            case JsArray a: a.Parent = this; break;
        }
    }

    // ---- dynamic access -------------------------------------------------------------------------

    DynamicMetaObject IDynamicMetaObjectProvider.GetMetaObject(Expression parameter) => new Meta(parameter, this);

    internal object? DynamicGetMember(string name) => name switch
    {
        "Length" or "length" or "Count" => _count,
        _ => null,
    };

    internal object? DynamicGetIndex(object? index) => this[ToIndex(index)];

    internal object? DynamicSetIndex(object? index, object? value)
    {
        this[ToIndex(index)] = value;
        return value;
    }

    internal object? DynamicInvoke(string name, object?[] args)
    {
        switch (name)
        {
            case "Add" or "push" or "Push" when args.Length == 1: Add(args[0]); return _count;
            case "Clone" when args.Length == 0: return Clone();
            case "ToString" when args.Length == 0: return ToString();
            case "Contains" when args.Length == 1: return Contains(args[0]);
            case "IndexOf" when args.Length == 1: return IndexOf(args[0]);
            case "RemoveAt" when args.Length == 1: RemoveAt(ToIndex(args[0])); return null;
            default:
                throw new JsonAccessException($"'{name}' is not a function of a JSON array. Arrays have Add(x)/push(x), Contains(x), IndexOf(x), RemoveAt(i), Clone(), ToString(), Length; for LINQ write IEnumerable<dynamic> rows = …;");
        }
    }

    internal object DynamicConvert(Type type)
    {
        if (type == typeof(string)) return ToString();
        if (type == typeof(List<object?>)) return new List<object?>(this);
        if (type == typeof(object?[])) return this.ToArray();
        throw new JsonAccessException($"A JSON array cannot be converted to {type.Name}; use IEnumerable<dynamic> or List<object>.");
    }

    private static int ToIndex(object? index) => index switch
    {
        int i => i,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        _ => throw new JsonAccessException($"A JSON array is indexed by a whole number, not by {(index is null ? "null" : $"'{index}'")}."),
    };

    private sealed class Meta(Expression expression, JsArray value)
        : DynamicMetaObject(expression, BindingRestrictions.Empty, value)
    {
        private const BindingFlags Internal = BindingFlags.Instance | BindingFlags.NonPublic;
        private static readonly MethodInfo GetMemberMethod = typeof(JsArray).GetMethod(nameof(DynamicGetMember), Internal)!;
        private static readonly MethodInfo GetIndexMethod = typeof(JsArray).GetMethod(nameof(DynamicGetIndex), Internal)!;
        private static readonly MethodInfo SetIndexMethod = typeof(JsArray).GetMethod(nameof(DynamicSetIndex), Internal)!;
        private static readonly MethodInfo InvokeMethod = typeof(JsArray).GetMethod(nameof(DynamicInvoke), Internal)!;
        private static readonly MethodInfo ConvertMethod = typeof(JsArray).GetMethod(nameof(DynamicConvert), Internal)!;

        private BindingRestrictions TypeRestriction => BindingRestrictions.GetTypeRestriction(Expression, typeof(JsArray));
        private UnaryExpression Self => Expression.Convert(Expression, typeof(JsArray));

        public override DynamicMetaObject BindGetMember(GetMemberBinder binder) =>
            new(Expression.Call(Self, GetMemberMethod, Expression.Constant(binder.Name)), TypeRestriction);

        public override DynamicMetaObject BindGetIndex(GetIndexBinder binder, DynamicMetaObject[] indexes) =>
            indexes.Length != 1 ? base.BindGetIndex(binder, indexes)
                : new(Expression.Call(Self, GetIndexMethod, Expression.Convert(indexes[0].Expression, typeof(object))), TypeRestriction);

        public override DynamicMetaObject BindSetIndex(SetIndexBinder binder, DynamicMetaObject[] indexes, DynamicMetaObject value) =>
            indexes.Length != 1 ? base.BindSetIndex(binder, indexes, value)
                : new(Expression.Call(Self, SetIndexMethod, Expression.Convert(indexes[0].Expression, typeof(object)), Expression.Convert(value.Expression, typeof(object))), TypeRestriction);

        public override DynamicMetaObject BindInvokeMember(InvokeMemberBinder binder, DynamicMetaObject[] args) =>
            new(Expression.Call(Self, InvokeMethod, Expression.Constant(binder.Name),
                Expression.NewArrayInit(typeof(object), args.Select(a => Expression.Convert(a.Expression, typeof(object))))), TypeRestriction);

        public override DynamicMetaObject BindConvert(ConvertBinder binder)
        {
            if (binder.Type.IsAssignableFrom(typeof(JsArray)))
                return new(Expression.Convert(Expression, binder.Type), TypeRestriction);
            return new(Expression.Convert(Expression.Call(Self, ConvertMethod, Expression.Constant(binder.Type)), binder.Type), TypeRestriction);
        }
    }
}
