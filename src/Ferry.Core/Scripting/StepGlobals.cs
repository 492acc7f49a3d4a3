using Ferry.Steps;

namespace Ferry.Scripting;

#pragma warning disable CA1707, IDE1006 // step code sees these exact lowercase names (DESIGN §3)

/// <summary>
/// The globals of a compiled step: what the script sees as <c>state</c>, <c>log</c>, <c>cursor</c> and its adaptor
/// (bound to the adaptor's own name by a line the compiler adds before the user's code).
/// </summary>
public sealed class StepGlobals
{
    /// <summary>The input state (a <see cref="Ferry.Json.JsObject"/>), mutable, with JavaScript-like access.</summary>
    public dynamic state { get; set; } = new Ferry.Json.JsObject();

    public StepLog log { get; set; } = null!;

    public Cursor cursor { get; set; } = new();

    /// <summary>The step's adaptor instance (null for steps without one). Step code uses it by its name, e.g. <c>http</c>.</summary>
    public object? __adaptor { get; set; }

    /// <summary>The step's time/memory/recursion budget, checked by instrumentation the compiler inserts.</summary>
    public ExecutionBudget __budget { get; set; } = null!;
}
