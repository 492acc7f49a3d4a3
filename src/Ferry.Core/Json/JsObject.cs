using System.Collections;
using System.Dynamic;
using System.Linq.Expressions;

namespace Ferry.Json;

/// <summary>
/// A JSON object with JavaScript-like access from step code: <c>state.data.patient.name</c> reads a member,
/// a missing member is <c>null</c> (never an exception), assignment creates members. Keys keep their
/// insertion order. JSON keys always win over C# members in dynamic access, so a field called
/// <c>Count</c> or <c>Keys</c> is the field; the few functions (<c>Has</c>, <c>Remove</c>, <c>Keys</c>,
/// <c>Clone</c>, <c>ToString</c>) are reached by calling them.
/// </summary>
/// <remarks>
/// Values are <c>null</c>, <see cref="string"/>, <see cref="bool"/>, <see cref="int"/>, <see cref="long"/>,
/// <see cref="double"/>, <see cref="decimal"/>, <see cref="JsObject"/>, <see cref="JsArray"/> or
/// <see cref="RawJson"/> (materialized on first read). A container value belongs to one parent; assigning
/// one that already has a parent stores a copy, so state can never contain a cycle.
/// </remarks>
public sealed class JsObject : IDynamicMetaObjectProvider, IEnumerable<KeyValuePair<string, object?>>
{
    private const int IndexThreshold = 12;
    private string[] _keys;
    private object?[] _values;
    private int _count;
    private Dictionary<string, int>? _index;

    public JsObject() : this(4) { }

    public JsObject(int capacity)
    {
        _keys = capacity == 0 ? [] : new string[capacity];
        _values = capacity == 0 ? [] : new object?[capacity];
    }

    internal object? Parent { get; set; }

    public int Count => _count;

    public IEnumerable<string> Keys
    {
        get
        {
            for (var i = 0; i < _count; i++) yield return _keys[i];
        }
    }

    /// <summary>Reads a member (materializing raw JSON); null when absent.</summary>
    public object? this[string key]
    {
        get => Get(key);
        set => Set(key, value);
    }

    public bool Has(string key) => IndexOf(key) >= 0;

    public object? Get(string key)
    {
        var i = IndexOf(key);
        if (i < 0) return null;
        var v = _values[i];
        if (v is RawJson raw)
        {
            v = raw.Materialize();
            Adopt(v);
            _values[i] = v;
        }
        return v;
    }

    /// <summary>Reads a member without materializing raw JSON (for streaming consumers such as mapping).</summary>
    public object? GetUnmaterialized(string key)
    {
        var i = IndexOf(key);
        return i < 0 ? null : _values[i];
    }

    public bool TryGetUnmaterialized(string key, out object? value)
    {
        var i = IndexOf(key);
        value = i < 0 ? null : _values[i];
        return i >= 0;
    }

    /// <summary>Sets a member; CLR values (anonymous objects, lists, dictionaries…) are converted to JSON.</summary>
    public void Set(string key, object? value)
    {
        value = Js.From(value);
        value = Js.DetachOrCopy(value, this);
        var i = IndexOf(key);
        if (i >= 0)
        {
            Js.Orphan(_values[i]);
            _values[i] = value;
        }
        else
        {
            AddNew(key, value);
        }
        Adopt(value);
    }

    /// <summary>Appends a member known to be new and already a JSON value (parsers use it).</summary>
    internal void AddNew(string key, object? value)
    {
        if (_count == _keys.Length)
        {
            var size = Math.Max(4, _count * 2);
            Array.Resize(ref _keys, size);
            Array.Resize(ref _values, size);
        }
        _keys[_count] = key;
        _values[_count] = value;
        _index?.Add(key, _count);
        _count++;
        if (_index is null && _count > IndexThreshold) BuildIndex();
        if (value is JsObject or JsArray) Adopt(value);
    }

    public bool Remove(string key)
    {
        var i = IndexOf(key);
        if (i < 0) return false;
        Js.Orphan(_values[i]);
        Array.Copy(_keys, i + 1, _keys, i, _count - i - 1);
        Array.Copy(_values, i + 1, _values, i, _count - i - 1);
        _count--;
        _keys[_count] = null!;
        _values[_count] = null;
        if (_index is not null) BuildIndex();
        return true;
    }

    /// <summary>A deep copy (raw JSON members are shared: they are immutable).</summary>
    public JsObject Clone()
    {
        var copy = new JsObject(_count);
        for (var i = 0; i < _count; i++) copy.AddNew(_keys[i], Js.Clone(_values[i]));
        return copy;
    }

    /// <summary>Compact JSON text.</summary>
    public override string ToString() => Js.ToJson(this);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < _count; i++) yield return new(_keys[i], Get(_keys[i]));
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal string KeyAt(int i) => _keys[i];

    internal object? ValueAt(int i) => _values[i];

    private void Adopt(object? value)
    {
        switch (value)
        {
            case JsObject o: o.Parent = this; break;
            case JsArray a: a.Parent = this; break;
        }
    }

    private int IndexOf(string key)
    {
        if (_index is not null) return _index.TryGetValue(key, out var j) ? j : -1;
        for (var i = 0; i < _count; i++)
        {
            if (string.Equals(_keys[i], key, StringComparison.Ordinal)) return i;
        }
        return -1;
    }

    private void BuildIndex()
    {
        _index = new Dictionary<string, int>(_count, StringComparer.Ordinal);
        for (var i = 0; i < _count; i++) _index[_keys[i]] = i;
    }

    // ---- dynamic access -------------------------------------------------------------------------

    DynamicMetaObject IDynamicMetaObjectProvider.GetMetaObject(Expression parameter) => new Meta(parameter, this);

    internal object? DynamicSet(string key, object? value)
    {
        Set(key, value);
        return value;
    }

    internal object? DynamicGetIndex(object? index) => index switch
    {
        string s => Get(s),
        null => throw new JsonAccessException("A JSON object cannot be indexed by null; use a member name."),
        _ => Get(Convert.ToString(index, System.Globalization.CultureInfo.InvariantCulture)!),
    };

    internal object? DynamicSetIndex(object? index, object? value)
    {
        if (index is null) throw new JsonAccessException("A JSON object cannot be indexed by null; use a member name.");
        Set(index as string ?? Convert.ToString(index, System.Globalization.CultureInfo.InvariantCulture)!, value);
        return value;
    }

    internal object? DynamicInvoke(string name, object?[] args)
    {
        switch (name)
        {
            case "Has" when args.Length == 1 && args[0] is string k: return Has(k);
            case "Remove" when args.Length == 1 && args[0] is string k: return Remove(k);
            case "Keys" when args.Length == 0: return new JsArray(Keys.Select(k => (object?)k));
            case "Clone" when args.Length == 0: return Clone();
            case "ToString" when args.Length == 0: return ToString();
        }
        if (Get(name) is null)
            throw new JsonAccessException($"'{name}' is not a function of a JSON object. JSON objects have Has(key), Remove(key), Keys(), Clone() and ToString().");
        throw new JsonAccessException($"'{name}' is a JSON member, not a function: read it without parentheses.");
    }

    internal object DynamicConvert(Type type)
    {
        if (type == typeof(string)) return ToString();
        throw new JsonAccessException($"A JSON object cannot be converted to {type.Name}.");
    }

    private sealed class Meta(Expression expression, JsObject value)
        : DynamicMetaObject(expression, BindingRestrictions.Empty, value)
    {
        private static readonly System.Reflection.MethodInfo GetMethod = typeof(JsObject).GetMethod(nameof(Get))!;
        private static readonly System.Reflection.MethodInfo SetMethod = typeof(JsObject).GetMethod(nameof(DynamicSet), System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;
        private static readonly System.Reflection.MethodInfo GetIndexMethod = typeof(JsObject).GetMethod(nameof(DynamicGetIndex), System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;
        private static readonly System.Reflection.MethodInfo SetIndexMethod = typeof(JsObject).GetMethod(nameof(DynamicSetIndex), System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;
        private static readonly System.Reflection.MethodInfo InvokeMethod = typeof(JsObject).GetMethod(nameof(DynamicInvoke), System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;
        private static readonly System.Reflection.MethodInfo ConvertMethod = typeof(JsObject).GetMethod(nameof(DynamicConvert), System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;

        private BindingRestrictions TypeRestriction => BindingRestrictions.GetTypeRestriction(Expression, typeof(JsObject));
        private UnaryExpression Self => Expression.Convert(Expression, typeof(JsObject));

        public override DynamicMetaObject BindGetMember(GetMemberBinder binder) =>
            new(Expression.Call(Self, GetMethod, Expression.Constant(binder.Name)), TypeRestriction);

        public override DynamicMetaObject BindSetMember(SetMemberBinder binder, DynamicMetaObject value) =>
            new(Expression.Call(Self, SetMethod, Expression.Constant(binder.Name), Expression.Convert(value.Expression, typeof(object))), TypeRestriction);

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
            if (binder.Type.IsAssignableFrom(typeof(JsObject)))
                return new(Expression.Convert(Expression, binder.Type), TypeRestriction);
            return new(Expression.Convert(Expression.Call(Self, ConvertMethod, Expression.Constant(binder.Type)), binder.Type), TypeRestriction);
        }

        public override IEnumerable<string> GetDynamicMemberNames() => ((JsObject)Value!).Keys;
    }
}

/// <summary>A step used a JSON value in a way JSON does not allow (message says how to fix it).</summary>
public sealed class JsonAccessException : Exception
{
    public JsonAccessException(string message) : base(message) { }
    public JsonAccessException() { }
    public JsonAccessException(string message, Exception inner) : base(message, inner) { }
}
