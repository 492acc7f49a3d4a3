using System.Collections.Concurrent;
using Ferry.Adaptors;
using Ferry.Json;
using Ferry.Steps;

namespace Ferry.Scripting;

/// <summary>Process-wide settings the step sandbox relies on, and the version of its rules.</summary>
public static class Sandbox
{
    /// <summary>Part of every compiled step's content hash: bump it when the allow-list or the instrumentation changes.</summary>
    public const int RulesVersion = 3;

    /// <summary>The default match timeout of every regular expression in the process (step code cannot choose its own).</summary>
    public static TimeSpan RegexMatchTimeout { get; private set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Sets the process-wide regex match timeout so a catastrophic pattern in step code ends with
    /// <see cref="System.Text.RegularExpressions.RegexMatchTimeoutException"/>. Call it at startup, before any
    /// <see cref="System.Text.RegularExpressions.Regex"/> is used: .NET reads the setting once.
    /// </summary>
    public static void ConfigureProcess(TimeSpan? regexMatchTimeout = null)
    {
        if (regexMatchTimeout is { } t) RegexMatchTimeout = t;
        AppContext.SetData("REGEX_DEFAULT_MATCH_TIMEOUT", RegexMatchTimeout);
    }
}

/// <summary>Step code tried something the sandbox refuses at run time (a dynamic operation on a value of a refused type).</summary>
public sealed class SandboxViolationException : Exception
{
    public SandboxViolationException(string message) : base(message) { }

    public SandboxViolationException() : this("Step code used something the sandbox does not allow.") { }

    public SandboxViolationException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// The run-time half of the sandbox for <c>dynamic</c>: the compiler wraps every dynamic receiver and operand in
/// <see cref="Check"/>, so dynamic binding only ever reaches JSON values, primitives, dates and the Ferry step API.
/// </summary>
public static class DynamicGuard
{
    private static readonly ConcurrentDictionary<Type, bool> Allowed = new();

    /// <summary>Returns <paramref name="value"/> when its exact type may be used dynamically, else throws <see cref="SandboxViolationException"/>.</summary>
    public static object? Check(object? value)
    {
        switch (value)
        {
            case null or string or bool or char or int or long or double or decimal or float
                or short or byte or sbyte or ushort or uint or ulong
                or DateTime or DateTimeOffset or TimeSpan or DateOnly or TimeOnly or Guid
                or JsObject or JsArray or RawJson:
                return value;
        }
        var type = value.GetType();
        // A step's own types are not remembered: the table would keep their unloadable assembly alive.
        if (type.Assembly.IsCollectible ? IsStepApi(type) : Allowed.GetOrAdd(type, IsStepApi)) return value;
        throw new SandboxViolationException(
            $"Dynamic access to a value of type '{type.FullName}' is not allowed in step code. " +
            "Only JSON state values, strings, numbers, dates and the Ferry step API can be used through 'dynamic'; give the variable a static type.");
    }

    /// <summary>
    /// The operand of <c>await</c> on a dynamic value: a task (what an adaptor call with a dynamic argument returns)
    /// may be awaited, and only awaited; anything else must pass <see cref="Check"/>.
    /// </summary>
    public static object? CheckAwaitable(object? value) => value is Task or ValueTask ? value : Check(value);

    private static bool IsStepApi(Type type) =>
        type.IsDefined(typeof(StepApiAttribute), inherit: false)
        || (typeof(Adaptor).IsAssignableFrom(type) && type.IsDefined(typeof(AdaptorAttribute), inherit: false));
}

/// <summary>Turns the value of an edge condition into true/false (used by compiled conditions).</summary>
public static class ConditionValue
{
    public static bool ToBoolean(object? value) => value switch
    {
        bool b => b,
        null => false,
        _ => throw new InvalidOperationException(
            $"An edge condition must be true or false; this one gave {Js.ToJson(Js.From(value))}. Compare explicitly, e.g. state.data.count > 0."),
    };
}
