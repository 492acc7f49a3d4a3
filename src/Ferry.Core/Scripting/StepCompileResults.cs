using System.Reflection;
using System.Runtime.Loader;
using Ferry.Diagnostics;
using Ferry.Json;

namespace Ferry.Scripting;

/// <summary>Where a compiled step came from.</summary>
public enum StepCacheSource
{
    /// <summary>Compiled now with Roslyn.</summary>
    Compiled,

    /// <summary>Found in this compiler's memory cache.</summary>
    Memory,

    /// <summary>Loaded from the disk cache (Roslyn was not needed).</summary>
    Disk,
}

public sealed class StepCompileResult
{
    internal StepCompileResult(IReadOnlyList<Diagnostic> diagnostics, CompiledStep? step, StepCacheSource source, TimeSpan elapsed)
    {
        Diagnostics = diagnostics;
        Step = step;
        Source = source;
        Elapsed = elapsed;
    }

    public bool Success => Step is not null;

    /// <summary>Every problem found (compile errors and sandbox refusals), located in the user's file.</summary>
    public IReadOnlyList<Diagnostic> Diagnostics { get; }

    public CompiledStep? Step { get; }

    /// <summary>True when no compilation happened (memory or disk cache hit).</summary>
    public bool FromCache => Source != StepCacheSource.Compiled;

    public StepCacheSource Source { get; }

    public TimeSpan Elapsed { get; }
}

public sealed class ConditionCompileResult
{
    internal ConditionCompileResult(IReadOnlyList<Diagnostic> diagnostics, CompiledCondition? condition)
    {
        Diagnostics = diagnostics;
        Condition = condition;
    }

    public bool Success => Condition is not null;

    public IReadOnlyList<Diagnostic> Diagnostics { get; }

    public CompiledCondition? Condition { get; }
}

/// <summary>
/// A loaded script assembly (shared by every location with the same content hash), in a collectible load context of
/// its own: once no compiled step or condition holds it (the versions using it were let go of), the finalizer unloads
/// the context, and the runtime frees the assembly with its code once nothing of it is in use any more. A server that
/// is deployed to many times so keeps only the steps of the versions it still runs.
/// </summary>
internal sealed class LoadedScript
{
    private readonly AssemblyLoadContext? _context;

    private LoadedScript(string hash, Func<object[], Task<object>>? factory, IReadOnlyList<RawDiagnostic> diagnostics, StepCacheSource origin,
        AssemblyLoadContext? context)
    {
        Hash = hash;
        Factory = factory;
        Diagnostics = diagnostics;
        Origin = origin;
        _context = context;
    }

    ~LoadedScript() => _context?.Unload();

    public string Hash { get; }

    public Func<object[], Task<object>>? Factory { get; }

    public IReadOnlyList<RawDiagnostic> Diagnostics { get; }

    public StepCacheSource Origin { get; }

    /// <summary>The load context the assembly lives in (tests watch it being collected).</summary>
    internal AssemblyLoadContext? Context => _context;

    public static LoadedScript Failed(string hash, IReadOnlyList<RawDiagnostic> diagnostics) => new(hash, null, diagnostics, StepCacheSource.Compiled, null);

    /// <summary>Loads a compiled script (assembly and PDB) into a new collectible context.</summary>
    public static LoadedScript Load(string hash, Stream assembly, Stream pdb, StepCacheSource origin)
    {
        var context = new AssemblyLoadContext("ferry-step-" + hash[..12], isCollectible: true);
        try
        {
            var type = context.LoadFromStream(assembly, pdb).GetType(ScriptNames.ClassName, throwOnError: true)!;
            var method = type.GetMethod(ScriptNames.FactoryMethod, BindingFlags.Public | BindingFlags.Static)
                ?? throw new InvalidOperationException($"The compiled step {hash} has no submission factory; delete the step cache and retry.");
            return new(hash, method.CreateDelegate<Func<object[], Task<object>>>(), [], origin, context);
        }
        catch
        {
            context.Unload();
            throw;
        }
    }
}

/// <summary>A step's code, compiled and sandboxed, ready to run any number of times.</summary>
public sealed class CompiledStep
{
    private readonly LoadedScript _script;

    internal CompiledStep(LoadedScript script, SourceLocation location, string code)
    {
        _script = script;
        Location = location;
        Code = code;
    }

    /// <summary>The content hash the step is cached under.</summary>
    public string Hash => _script.Hash;

    /// <summary>The collectible context the step's assembly is loaded in.</summary>
    internal AssemblyLoadContext? LoadContext => _script.Context;

    /// <summary>Where line 1 of the code is (a .csx file, or the line of an inline <c>code: |</c> in ferry.yaml).</summary>
    public SourceLocation Location { get; }

    internal string Code { get; }

    /// <summary>The file name the step's PDB uses: frames of this step carry it (see <see cref="StepErrors"/>).</summary>
    internal string DebugFile => ScriptNames.DebugFile(Hash);

    /// <summary>
    /// Runs the step against <paramref name="globals"/> (whose <see cref="StepGlobals.__budget"/> bounds it) and
    /// returns what the script returned, or null. Exceptions of the step propagate; <see cref="StepErrors.Describe(Exception, CompiledStep)"/>
    /// turns them into a message and a location. A step that was killed always ends in <see cref="StepKilledException"/>,
    /// even if its code caught the kill.
    /// </summary>
    public async Task<object?> RunAsync(StepGlobals globals)
    {
        ArgumentNullException.ThrowIfNull(globals);
        var budget = globals.__budget ?? throw new ArgumentException("The step's globals need an ExecutionBudget (__budget).", nameof(globals));
        ExecutionBudget.Ambient = budget;
        budget.Tick();
        var result = await _script.Factory!([globals, null!]);
        if (budget.Killed is { } killed) throw killed;
        return result;
    }
}

/// <summary>An edge condition (<c>state.data.count &gt; 2</c>), compiled and sandboxed.</summary>
public sealed class CompiledCondition
{
    private readonly LoadedScript _script;

    internal CompiledCondition(LoadedScript script, SourceLocation location, string code)
    {
        _script = script;
        Location = location;
        Code = code;
    }

    public string Hash => _script.Hash;

    public SourceLocation Location { get; }

    internal string Code { get; }

    internal string DebugFile => ScriptNames.DebugFile(Hash);

    /// <summary>Evaluates the condition on a state. A null result (a missing member) is false.</summary>
    public bool Evaluate(JsObject state, ExecutionBudget budget)
    {
        ArgumentNullException.ThrowIfNull(budget);
        var globals = new StepGlobals { state = state, __budget = budget };
        var previous = ExecutionBudget.Ambient;
        ExecutionBudget.Ambient = budget;
        try
        {
            budget.Tick();
            // Conditions cannot await (the compiler refuses it), so the task is complete when the factory returns.
            var value = _script.Factory!([globals, null!]).GetAwaiter().GetResult();
            if (budget.Killed is { } killed) throw killed;
            return ConditionValue.ToBoolean(value);
        }
        finally
        {
            ExecutionBudget.Ambient = previous;
        }
    }
}

/// <summary>Names shared by the compiler (Roslyn side) and the loader (no Roslyn).</summary>
internal static class ScriptNames
{
    public const string ClassName = "FerryStep";
    public const string FactoryMethod = "<Factory>";

    public static string AssemblyName(string hash) => "ferry-step-" + hash;

    public static string DebugFile(string hash) => "ferry-step-" + hash[..16] + ".csx";
}

/// <summary>A diagnostic in the coordinates of the user's code (line 1 = first line of the code; 0 = not in user code).</summary>
internal sealed record RawDiagnostic(string Code, string Message, string? Hint, int Line, int Column);
