using Microsoft.CodeAnalysis;

namespace Ferry.Scripting.Roslyn;

/// <summary>Why something is refused: the construct's name, its category and what to do instead.</summary>
internal sealed record Refusal(string What, string Category, string Hint, string? Via = null)
{
    public string Message => Via is null
        ? $"'{What}' is not allowed in step code ({Category})."
        : $"'{What}' (used by '{Via}') is not allowed in step code ({Category}).";
}

/// <summary>
/// The compile-time allow-list (DESIGN §3). A type is allowed when it is on the list below, declared by the script
/// itself, a Ferry type marked <c>[StepApi]</c> or an <c>[Adaptor]</c>; a member when its type is allowed, it is not
/// refused by name, and every type it takes or returns is allowed.
/// </summary>
internal static class SandboxRules
{
    private const string ReflectionHint = "Step code works on JSON state through the Ferry API; reflection is not available.";
    private const string ThreadsHint = "Await adaptor calls instead; a step runs as one logical thread and the engine bounds its time.";
    private const string EnvironmentHint = "Read settings from state.configuration (the credential) and write output with log.Info(...).";
    private const string AllowListHint = "Step code may use primitives, strings, dates, collections, LINQ, text, regex, globalization, JSON state and the Ferry step API (docs/job-api.md#sandbox).";

    public static readonly SymbolDisplayFormat Display = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
        genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.UseSpecialTypes);

    private static readonly HashSet<string> SystemTypes = new(StringComparer.Ordinal)
    {
        "Object", "String", "Boolean", "Char", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
        "Int128", "UInt128", "Half", "Single", "Double", "Decimal", "DateTime", "DateTimeOffset", "TimeSpan", "DateOnly",
        "TimeOnly", "Guid", "Math", "MathF", "Convert", "Nullable", "Nullable`1", "Predicate`1", "Comparison`1",
        "Converter`2", "StringComparison", "StringComparer", "StringSplitOptions", "MidpointRounding", "DayOfWeek",
        "DateTimeKind", "Enum", "IComparable", "IComparable`1", "IEquatable`1", "IFormattable", "IFormatProvider",
        "ISpanFormattable", "IUtf8SpanFormattable", "IParsable`1", "ISpanParsable`1", "IConvertible", "TypeCode",
        "IDisposable", "IAsyncDisposable", "ICloneable", "Array", "Index", "Range", "Span`1", "ReadOnlySpan`1",
        "Memory`1", "ReadOnlyMemory`1", "MemoryExtensions", "Random", "Lazy`1", "Uri", "UriKind", "UriComponents",
        "UriFormat", "Version", "BitConverter", "HashCode", "FormattableString", "TimeZoneInfo", "Base64FormattingOptions",
        "CharEnumerator", "ArraySegment`1", "StringNormalizationExtensions", "Delegate", "MulticastDelegate", "Action",
        "EventArgs", "EventHandler", "EventHandler`1", "DBNull", "Void",
    };

    private static readonly HashSet<string> LinqTypes = new(StringComparer.Ordinal)
    {
        "Enumerable", "IGrouping`2", "ILookup`2", "Lookup`2", "IOrderedEnumerable`1",
    };

    private static readonly HashSet<string> FerryJsonTypes = new(StringComparer.Ordinal)
    {
        "JsObject", "JsArray", "RawJson", "Js", "JsonAccessException",
    };

    /// <summary>Refuses a type, or returns null when step code may use it.</summary>
    public static Refusal? CheckType(ITypeSymbol? type, IAssemblySymbol script)
    {
        switch (type)
        {
            case null or IErrorTypeSymbol or IDynamicTypeSymbol or ITypeParameterSymbol: return null;
            case IArrayTypeSymbol array: return CheckType(array.ElementType, script);
            case IPointerTypeSymbol or IFunctionPointerTypeSymbol:
                return new Refusal(type.ToDisplayString(Display), "pointers", "Use arrays, lists and spans; unsafe code is not available.");
            case INamedTypeSymbol named:
                if (named.IsAnonymousType || IsScriptOwn(named, script)) return null;
                if (named.IsTupleType)
                {
                    foreach (var element in named.TupleElements)
                    {
                        if (CheckType(element.Type, script) is { } r) return r;
                    }
                    return null;
                }
                var definition = named.OriginalDefinition;
                var outermost = definition;
                while (outermost.ContainingType is not null) outermost = outermost.ContainingType;
                if (CheckDefinition(outermost) is { } refusal) return refusal;
                foreach (var argument in named.TypeArguments)
                {
                    if (CheckType(argument, script) is { } r) return r;
                }
                return null;
            default:
                return new Refusal(type.ToDisplayString(Display), "types outside the step allow-list", AllowListHint);
        }
    }

    /// <summary>Refuses a member (by name, or for a type it takes or returns), or returns null.</summary>
    public static Refusal? CheckMember(ISymbol symbol, IAssemblySymbol script)
    {
        switch (symbol)
        {
            case ITypeSymbol type: return CheckType(type, script);
            case INamespaceSymbol or ILabelSymbol or IDiscardSymbol or IPreprocessingSymbol: return null;
            case IAliasSymbol alias: return CheckMember(alias.Target, script);
            case ILocalSymbol local: return CheckType(local.Type, script);
            case IParameterSymbol parameter: return CheckType(parameter.Type, script);
            case IRangeVariableSymbol: return null;
        }

        var containing = symbol.ContainingType;
        var own = containing is null || IsScriptOwn(containing, script);
        if (!own && containing is not null)
        {
            if (IsGlobals(containing))
            {
                if (symbol.Name is not ("state" or "log" or "cursor"))
                    return new Refusal(symbol.Name, "Ferry internals", "Names starting with '__' are reserved for Ferry.");
            }
            else
            {
                if (RefuseByName(symbol, containing) is { } byName) return byName;
                if (CheckType(containing, script) is { } r) return r;
            }
        }
        return symbol switch
        {
            IMethodSymbol method => CheckSignature(method, script),
            IPropertySymbol property => CheckType(property.Type, script) is { } r
                ? Uses(symbol, r)
                : property.Parameters.Select(p => CheckType(p.Type, script)).FirstOrDefault(x => x is not null) is { } p ? Uses(symbol, p) : null,
            IFieldSymbol field => CheckType(field.Type, script) is { } r ? Uses(symbol, r) : null,
            IEventSymbol e => CheckType(e.Type, script) is { } r ? Uses(symbol, r) : null,
            _ => null,
        };
    }

    /// <summary>The display name of a member for messages: <c>System.Exception.TargetSite</c>.</summary>
    public static string Name(ISymbol symbol) =>
        symbol.ContainingType is { } t ? $"{t.OriginalDefinition.ToDisplayString(Display)}.{symbol.Name}" : symbol.ToDisplayString(Display);

    public static bool IsScriptOwn(ISymbol symbol, IAssemblySymbol script) =>
        SymbolEqualityComparer.Default.Equals(symbol.ContainingAssembly, script);

    private static Refusal? CheckSignature(IMethodSymbol method, IAssemblySymbol script)
    {
        var m = method.ReducedFrom ?? method;
        if (CheckType(m.ReturnType, script) is { } r) return Uses(method, r);
        foreach (var p in m.Parameters)
        {
            if (CheckType(p.Type, script) is { } pr) return Uses(method, pr);
        }
        foreach (var t in method.TypeArguments)
        {
            if (CheckType(t, script) is { } tr) return Uses(method, tr);
        }
        return null;
    }

    private static Refusal Uses(ISymbol member, Refusal inner) =>
        inner with { Via = Name(member) };

    private static bool IsGlobals(INamedTypeSymbol type) =>
        type.Name == nameof(StepGlobals) && type.ContainingNamespace.ToDisplayString() == "Ferry.Scripting";

    private static Refusal? RefuseByName(ISymbol symbol, INamedTypeSymbol containing)
    {
        var type = containing.OriginalDefinition.ToDisplayString(Display);
        var name = symbol.Name;
        var what = $"{type}.{name}";
        switch (type)
        {
            case "object" when name == "GetType":
                return new Refusal("object.GetType()", "reflection", ReflectionHint);
            case "System.Delegate" or "System.MulticastDelegate" when name is "Method" or "Target" or "DynamicInvoke" or "CreateDelegate" or "GetMethodInfo":
                return new Refusal(what, "reflection", ReflectionHint);
            case "System.Threading.Tasks.Task" or "System.Threading.Tasks.Task<TResult>"
                when name is "Run" or "Delay" or "Yield" or "Factory" or "Start" or "RunSynchronously" or "Wait" or "WaitAll"
                    or "WaitAny" or "ContinueWith" or "Result" or "WaitAsync" or "GetAwaiter":
                return new Refusal(what, "threads", ThreadsHint);
            case "System.Threading.Tasks.ValueTask" or "System.Threading.Tasks.ValueTask<TResult>" when name is "Result" or "GetAwaiter":
                return new Refusal(what, "threads", ThreadsHint);
            case "System.Text.RegularExpressions.Regex" when name is "InfiniteMatchTimeout" or "CacheSize" or "CompileToAssembly"
                || (symbol is IMethodSymbol m && m.Parameters.Any(p => p.Name == "matchTimeout")):
                return new Refusal(what + (symbol is IMethodSymbol ? " with a match timeout" : ""), "regex timeouts",
                    "Ferry sets the match timeout of every regular expression; use the overload without one.");
            case "System.Globalization.CultureInfo" when name is "DefaultThreadCurrentCulture" or "DefaultThreadCurrentUICulture":
            case "System.Text.Encoding" when name == "RegisterProvider":
            case "System.TimeZoneInfo" when name == "ClearCachedData":
                return new Refusal(what, "process-wide settings", "Pass a CultureInfo or encoding to the call that needs it instead.");
            case "System.Array" when name is "CreateInstance" or "CreateInstanceFromArrayType":
                return new Refusal(what, "reflection", ReflectionHint);
            default:
                return null;
        }
    }

    private static Refusal? CheckDefinition(INamedTypeSymbol type)
    {
        var ns = type.ContainingNamespace?.ToDisplayString() ?? "";
        var name = type.MetadataName;
        var display = type.ToDisplayString(Display);
        switch (ns)
        {
            case "System":
                if (SystemTypes.Contains(name) || name.StartsWith("ValueTuple", StringComparison.Ordinal) || name.StartsWith("Tuple", StringComparison.Ordinal)
                    || name.StartsWith("Func`", StringComparison.Ordinal) || name.StartsWith("Action`", StringComparison.Ordinal)) return null;
                if (name.EndsWith("Exception", StringComparison.Ordinal) && DerivesFrom(type, "System.Exception")) return null;
                return name switch
                {
                    "Type" or "Activator" or "RuntimeTypeHandle" or "RuntimeMethodHandle" or "RuntimeFieldHandle" or "TypedReference" or "ArgIterator"
                        => new Refusal(display, "reflection", ReflectionHint),
                    "Environment" or "AppContext" or "AppDomain" or "GC" or "Console" or "GCSettings" => new Refusal(display, "environment", EnvironmentHint),
                    "IntPtr" or "UIntPtr" => new Refusal(display, "native pointers", "Use numbers (int, long) instead."),
                    "Buffer" => new Refusal(display, "raw memory", "Use Array.Copy or spans."),
                    _ => new Refusal(display, "types outside the step allow-list", AllowListHint),
                };
            case "System.Collections" or "System.Collections.Generic" or "System.Collections.ObjectModel":
            case "System.Text.RegularExpressions" or "System.Globalization" or "System.Numerics":
                return null;
            case "System.Linq":
                return LinqTypes.Contains(name) ? null : new Refusal(display, "query providers and parallel LINQ", "Use LINQ over IEnumerable (System.Linq.Enumerable).");
            case "System.Text":
                return name is "StringBuilder" or "Rune" or "NormalizationForm" or "CompositeFormat" or "StringRuneEnumerator" or "SpanRuneEnumerator"
                    || name.EndsWith("Encoding", StringComparison.Ordinal) || name is "Encoder" or "Decoder" or "EncoderFallback" or "DecoderFallback"
                    ? null
                    : new Refusal(display, "types outside the step allow-list", AllowListHint);
            case "System.Threading.Tasks":
                return name is "Task" or "Task`1" or "ValueTask" or "ValueTask`1" or "TaskStatus" ? null : new Refusal(display, "threads", ThreadsHint);
            case "System.Threading":
                return name == "CancellationToken" ? null : new Refusal(display, "threads", ThreadsHint);
            case "System.Runtime.CompilerServices":
                return name.StartsWith("Configured", StringComparison.Ordinal) || name is "DefaultInterpolatedStringHandler" or "FormattableStringFactory" or "ITuple"
                    ? null
                    : new Refusal(display, "runtime internals", ReflectionHint);
            case "System.Text.Json":
                return name == "JsonValueKind" ? null : new Refusal(display, "raw JSON APIs", "Use the JSON state (JsObject, JsArray) and Js.Parse / Js.ToJson.");
            case "Ferry.Json":
                return FerryJsonTypes.Contains(name) ? null : FerryInternal(display);
        }
        if (ns == "Ferry" || ns.StartsWith("Ferry.", StringComparison.Ordinal))
            return IsStepApi(type) || IsAdaptor(type) ? null : FerryInternal(display);
        return ByNamespace(ns, display);
    }

    private static Refusal FerryInternal(string display) =>
        new(display, "Ferry internals", "Step code may use state, log, cursor, its adaptor and the standard library (types marked [StepApi]).");

    private static Refusal ByNamespace(string ns, string display)
    {
        static bool Under(string ns, string prefix) => ns == prefix || ns.StartsWith(prefix + ".", StringComparison.Ordinal);
        if (Under(ns, "System.IO")) return new(display, "files", "Read and write through an adaptor.");
        if (Under(ns, "System.Diagnostics")) return new(display, ns == "System.Diagnostics" && display.EndsWith("Process", StringComparison.Ordinal) ? "processes" : "processes and diagnostics",
            "Reach other systems through an adaptor; trace with log.Info(...).");
        if (Under(ns, "System.Reflection")) return new(display, "reflection", ReflectionHint);
        if (Under(ns, "System.Runtime.Loader")) return new(display, "assembly loading", ReflectionHint);
        if (Under(ns, "System.Runtime.InteropServices")) return new(display, "native interop (P/Invoke)", "Reach native code through an adaptor.");
        if (Under(ns, "System.Runtime")) return new(display, "runtime internals", ReflectionHint);
        if (Under(ns, "System.Threading")) return new(display, "threads", ThreadsHint);
        if (Under(ns, "System.Net")) return new(display, "network", "Call remote systems through an adaptor (http, fhir, dhis2, …).");
        if (Under(ns, "System.Linq.Expressions")) return new(display, "expression trees", ReflectionHint);
        if (Under(ns, "Microsoft.CSharp")) return new(display, "the dynamic binder", ReflectionHint);
        if (Under(ns, "System.Security")) return new(display, "security APIs", AllowListHint);
        if (Under(ns, "Microsoft.Win32")) return new(display, "the registry", EnvironmentHint);
        if (Under(ns, "System.Data")) return new(display, "databases", "Query databases through an adaptor (postgres).");
        return new(display, "types outside the step allow-list", AllowListHint);
    }

    private static bool DerivesFrom(INamedTypeSymbol type, string baseName)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.ToDisplayString(Display) == baseName) return true;
        }
        return false;
    }

    private static bool IsStepApi(INamedTypeSymbol type) =>
        type.GetAttributes().Any(a => a.AttributeClass is { Name: "StepApiAttribute" } c && c.ContainingNamespace.ToDisplayString() == "Ferry.Steps");

    private static bool IsAdaptor(INamedTypeSymbol type) =>
        DerivesFrom(type, "Ferry.Adaptors.Adaptor")
        && type.GetAttributes().Any(a => a.AttributeClass is { Name: "AdaptorAttribute" } c && c.ContainingNamespace.ToDisplayString() == "Ferry.Adaptors");
}
