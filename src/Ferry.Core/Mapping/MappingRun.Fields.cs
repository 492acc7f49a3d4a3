using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Ferry.Mapping;

/// <summary>The field pipeline: value → default/required → transforms → value map → date format → type.</summary>
internal sealed partial class MappingRun
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a fresh `ferry run` maps a million records before tiered JIT would optimize this
    private Val Evaluate(CompiledField f, int index)
    {
        var v = f.Kind switch
        {
            FieldKind.Constant => f.ConstValue,
            FieldKind.Compute => EvaluateTemplate(f.TemplateParts!),
            _ => _refs[f.RefIndex],
        };
        if (IsMissing(v))
        {
            if (f.HasDefault) return f.DefaultValue;
            if (f.Spec.Required)
            {
                var what = f.Spec.Source is { } s ? $"source field '{s}'" : f.Spec.Compute is { } c ? $"computed value '{c}'" : "constant";
                var found = v.Kind == JsonTokenType.None ? "is missing" : v.Kind == JsonTokenType.Null ? "is null" : "is empty";
                _errors.Add((index, "required", $"required field '{f.Spec.Target}': {what} {found}"));
            }
            return default;
        }
        if (f.Kind == FieldKind.Constant) return v;

        if (f.Transforms.Length > 0 && v.Kind == JsonTokenType.String)
        {
            foreach (var t in f.Transforms) v = ApplyTransform(t, v);
        }

        if (f.Map is { } map)
        {
            if (v.Kind is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                _errors.Add((index, "value_map", $"field '{f.Spec.Target}': the value map {MapName(f)} looks up single values, but the source is {KindName(v.Kind)} {Show(v)}"));
                return default;
            }
            var hit = map.Find(Text(v));
            if (hit >= 0) return map.Outputs[hit];
            if (f.HasDefault && !f.Spec.Strict) return f.DefaultValue;
            _errors.Add((index, "value_map", $"field '{f.Spec.Target}': {Show(v)} is not in the value map {MapName(f)} (known codes: {map.KnownCodes()}). " +
                "Add the code to the map" + (f.HasDefault ? ", or drop 'strict' to use the default" : ", or give the field a default")));
            return default;
        }

        if (f.From.Length > 0)
        {
            if (!TryReformat(f, ref v))
            {
                var formats = string.Join(" or ", f.From.Select(p => p.Format));
                _errors.Add((index, "format", $"field '{f.Spec.Target}': {Show(v)} is not a date in the format {formats}"));
                return default;
            }
            if (f.Spec.Type is FieldType.Any or FieldType.Date or FieldType.String) return v;
        }

        return f.Spec.Type == FieldType.Any ? v : ConvertType(f, index, v);
    }

    private static string MapName(CompiledField f) => f.Spec.ValueMapName is { } n ? $"'{n}'" : "of this field";

    private bool IsMissing(in Val v) => v.Kind switch
    {
        JsonTokenType.None or JsonTokenType.Null => true,
        JsonTokenType.String => IsBlank(Text(v)),
        _ => false,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryReformat(CompiledField f, ref Val v)
    {
        if (v.Kind is not (JsonTokenType.String or JsonTokenType.Number)) return false;
        var text = Text(v);
        foreach (var pattern in f.From)
        {
            if (!pattern.TryParse(text, out var date)) continue;
            var to = f.To!;
            EnsureScratch(to.MaxLength);
            var start = _scratchLen;
            var n = to.FormatTo(date, _scratch.AsSpan(start));
            _scratchLen += n;
            v = StringFrom(Buf.Scratch, start, n);
            return true;
        }
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Val ApplyTransform(Transform t, Val v)
    {
        var text = Text(v);
        if (t == Transform.Trim)
        {
            var trimmed = text.Trim(" \t\r\n"u8);
            if (trimmed.Length == text.Length) return v;
            var offset = v.TextStart + text.IndexOf(trimmed);
            return StringFrom(v.TextBuf, trimmed.IsEmpty ? v.TextStart : offset, trimmed.Length);
        }
        if (Ascii.IsValid(text))
        {
            EnsureScratch(text.Length);
            text = Text(v);
            var start = _scratchLen;
            var dest = _scratch.AsSpan(start, text.Length);
            if (t == Transform.Upper) Ascii.ToUpper(text, dest, out _);
            else Ascii.ToLower(text, dest, out _);
            _scratchLen += text.Length;
            return StringFrom(Buf.Scratch, start, text.Length);
        }
        var s = Encoding.UTF8.GetString(text);
        s = t == Transform.Upper ? s.ToUpperInvariant() : s.ToLowerInvariant();
        return AppendText(s);
    }

    private Val AppendText(string s)
    {
        var bytes = Encoding.UTF8.GetByteCount(s);
        EnsureScratch(bytes);
        var start = _scratchLen;
        _scratchLen += Encoding.UTF8.GetBytes(s, _scratch.AsSpan(start));
        return StringFrom(Buf.Scratch, start, bytes);
    }

    // ---- compute templates --------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Val EvaluateTemplate(CExpr[] parts)
    {
        // One expression and nothing else keeps the value's JSON type ("{age}", "{coalesce(mobile, phone)}").
        if (parts is [not CExpr.Const]) return EvaluateExpr(parts[0]);
        Span<Val> values = parts.Length <= 16 ? stackalloc Val[parts.Length] : new Val[parts.Length];
        var any = false;
        for (var i = 0; i < parts.Length; i++)
        {
            values[i] = EvaluateExpr(parts[i]);
            if (parts[i] is not CExpr.Const && !IsMissing(values[i])) any = true;
        }
        return any ? Concat(values) : default;
    }

    private Val EvaluateExpr(CExpr e)
    {
        switch (e)
        {
            case CExpr.Ref r: return _refs[r.Index];
            case CExpr.Const c: return c.Value;
            case CExpr.Call call:
                switch (call.Function)
                {
                    case "coalesce":
                        foreach (var arg in call.Args)
                        {
                            var v = EvaluateExpr(arg);
                            if (!IsMissing(v)) return v;
                        }
                        return default;
                    case "concat":
                        Span<Val> values = call.Args.Length <= 16 ? stackalloc Val[call.Args.Length] : new Val[call.Args.Length];
                        for (var i = 0; i < call.Args.Length; i++) values[i] = EvaluateExpr(call.Args[i]);
                        return Concat(values);
                    default:
                        var x = EvaluateExpr(call.Args[0]);
                        if (IsMissing(x)) return default;
                        if (x.Kind != JsonTokenType.String) x = StringFrom(x.TextBuf, x.TextStart, x.TextLen);
                        return ApplyTransform(call.Function switch { "upper" => Transform.Upper, "lower" => Transform.Lower, _ => Transform.Trim }, x);
                }
            default:
                return default;
        }
    }

    private Val Concat(ReadOnlySpan<Val> values)
    {
        var total = 0;
        foreach (var v in values) total += Text(v).Length;
        EnsureScratch(total);
        var start = _scratchLen;
        foreach (var v in values)
        {
            var text = Text(v);
            text.CopyTo(_scratch.AsSpan(_scratchLen));
            _scratchLen += text.Length;
        }
        return StringFrom(Buf.Scratch, start, total);
    }

    // ---- types ---------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Val ConvertType(CompiledField f, int index, Val v)
    {
        var type = f.Spec.Type;
        if (v.Kind is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            _errors.Add((index, "type", $"field '{f.Spec.Target}' is a {TypeConversion.Name(type)}, but the source is {KindName(v.Kind)}: {Show(v)}"));
            return default;
        }
        var text = Text(v).Trim(" \t\r\n"u8);
        switch (type)
        {
            case FieldType.String:
                return v.Kind == JsonTokenType.String ? v : StringFrom(v.TextBuf, v.TextStart, v.TextLen);
            case FieldType.Integer:
                if (v.Kind is JsonTokenType.Number or JsonTokenType.String)
                {
                    if (Utf8Parser.TryParse(text, out long l, out var used) && used == text.Length)
                    {
                        return v.Kind == JsonTokenType.Number ? v : WriteLong(l);
                    }
                    if (Utf8Parser.TryParse(text, out double d, out used) && used == text.Length && double.IsFinite(d) &&
                        Math.Floor(d) == d && Math.Abs(d) < 9e15)
                    {
                        return WriteLong((long)d);
                    }
                }
                break;
            case FieldType.Number:
                if (v.Kind == JsonTokenType.Number) return v;
                if (v.Kind == JsonTokenType.String)
                {
                    if (Utf8Parser.TryParse(text, out decimal m, out var used) && used == text.Length)
                    {
                        EnsureScratch(64);
                        var start = _scratchLen;
                        Utf8Formatter.TryFormat(m, _scratch.AsSpan(start), out var n);
                        _scratchLen += n;
                        return NumberInScratch(start, n);
                    }
                    if (Utf8Parser.TryParse(text, out double d, out used) && used == text.Length && double.IsFinite(d))
                    {
                        EnsureScratch(64);
                        var start = _scratchLen;
                        Utf8Formatter.TryFormat(d, _scratch.AsSpan(start), out var n);
                        _scratchLen += n;
                        return NumberInScratch(start, n);
                    }
                }
                break;
            case FieldType.Boolean:
                if (v.Kind is JsonTokenType.True or JsonTokenType.False) return v;
                Span<char> chars = stackalloc char[8];
                if (text.Length <= 8 && Ascii.ToUtf16(text, chars, out var count) == System.Buffers.OperationStatus.Done &&
                    TypeConversion.TryBoolean(chars[..count], out var b))
                {
                    return Literal(b);
                }
                break;
            case FieldType.Date:
                if (v.Kind == JsonTokenType.String && text.Length <= 64)
                {
                    Span<char> dateChars = stackalloc char[64];
                    var dn = Encoding.UTF8.GetChars(text, dateChars);
                    if (TypeConversion.IsIsoDate(dateChars[..dn])) return v;
                }
                _errors.Add((index, "type", $"field '{f.Spec.Target}' is a date, but {Show(v)} is not an ISO 8601 date such as 2024-01-31. " +
                    "Give the field a 'format: { from: <its format> }' to read other formats"));
                return default;
            default:
                return v;
        }
        _errors.Add((index, "type", $"field '{f.Spec.Target}' is a {TypeConversion.Name(type)}, but the source is {KindName(v.Kind)} {Show(v)}"));
        return default;
    }

    private Val WriteLong(long l)
    {
        EnsureScratch(24);
        var start = _scratchLen;
        TryFormatLong(l, _scratch.AsSpan(start), out var n);
        _scratchLen += n;
        return NumberInScratch(start, n);
    }
}
