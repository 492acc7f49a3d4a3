using Ferry.Json;

namespace Ferry.Steps;

/// <summary>
/// The <c>cursor</c> global: a small value a workflow keeps between runs for incremental sync
/// ("last updatedAt seen"). <c>cursor.Value</c> reads it (null on the first run), <c>cursor.Set(x)</c> stores it
/// when the run succeeds.
/// </summary>
[StepApi]
public sealed class Cursor
{
    private object? _value;

    public Cursor(object? initial = null) => _value = Js.From(initial);

    /// <summary>The value saved by the last successful run, or null.</summary>
    public dynamic? Value => _value;

    public dynamic? Get() => _value;

    /// <summary>Sets the cursor; dates are stored as ISO 8601 text.</summary>
    public void Set(object? value)
    {
        _value = Js.Clone(Js.From(value));
        Changed = true;
    }

    /// <summary>True when a step called <see cref="Set"/> during this run.</summary>
    public bool Changed { get; private set; }
}
