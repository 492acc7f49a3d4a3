using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Ferry.Diagnostics;
using Ferry.Scripting.Roslyn;

namespace Ferry.Scripting;

/// <summary>Options of a <see cref="StepCompiler"/>.</summary>
public sealed class StepCompilerOptions
{
    /// <summary>Folder for compiled steps (DLL + PDB per content hash). Null: memory cache only.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Assemblies whose <c>[StepApi]</c> types and adaptors step code may use (Ferry.Core is always included).</summary>
    public IReadOnlyList<Assembly> ApiAssemblies { get; init; } = [];

    /// <summary>Where builds run: a child process (the server), or null for this process (the CLI).</summary>
    public CompilerProcess? Process { get; init; }
}

/// <summary>
/// Compiles step code and edge conditions (C# scripts) into sandboxed, instrumented assemblies, once per content
/// hash, cached in memory and on disk. A disk-cache hit never loads Roslyn: everything Roslyn-specific lives in
/// <see cref="ScriptBuilder"/>, called only on a miss, and no signature in this class mentions a Roslyn type.
/// </summary>
public sealed class StepCompiler
{
    private readonly StepCompilerOptions _options;
    // Scripts in use, weakly: a script lives as long as a compiled step or condition holds it (a deployed version's
    // plans), and is unloaded once none does (LoadedScript). Two versions with the same code share one.
    private readonly ConcurrentDictionary<string, WeakReference<LoadedScript>> _memory = new(StringComparer.Ordinal);
    // Scripts being compiled or loaded now, so that concurrent requests for one hash produce it once.
    private readonly ConcurrentDictionary<string, Lazy<LoadedScript>> _producing = new(StringComparer.Ordinal);

    public StepCompiler(StepCompilerOptions options)
    {
        _options = options;
        Sandbox.ConfigureProcess();
    }

    /// <summary>
    /// Compiles a step. <paramref name="codeLocation"/> says where line 1 of <paramref name="code"/> is; every
    /// diagnostic and run-time error location is mapped through it. The adaptor instance is visible to the code as
    /// <paramref name="adaptorGlobalName"/> with the static type <paramref name="adaptorType"/>.
    /// </summary>
    public StepCompileResult CompileStep(string code, SourceLocation codeLocation, Type? adaptorType, string? adaptorGlobalName)
    {
        var watch = Stopwatch.StartNew();
        var request = new ScriptRequest(ScriptKind.Step, code, adaptorType, adaptorType is null ? null : adaptorGlobalName, _options.ApiAssemblies);
        var (script, source) = Get(request);
        var diagnostics = Map(script.Diagnostics, codeLocation);
        var step = script.Factory is null ? null : new CompiledStep(script, codeLocation, code);
        return new StepCompileResult(diagnostics, step, source, watch.Elapsed);
    }

    /// <summary>Compiles an edge condition: a C# boolean expression over <c>state</c>.</summary>
    public ConditionCompileResult CompileCondition(string expression, SourceLocation location)
    {
        var request = new ScriptRequest(ScriptKind.Condition, expression, null, null, _options.ApiAssemblies);
        var (script, _) = Get(request);
        var diagnostics = Map(script.Diagnostics, location);
        var condition = script.Factory is null ? null : new CompiledCondition(script, location, expression);
        return new ConditionCompileResult(diagnostics, condition);
    }

    private (LoadedScript Script, StepCacheSource Source) Get(ScriptRequest request)
    {
        if (_memory.TryGetValue(request.Hash, out var held) && held.TryGetTarget(out var alive)) return (alive, StepCacheSource.Memory);
        var created = false;
        var lazy = _producing.GetOrAdd(request.Hash, _ =>
        {
            created = true;
            return new Lazy<LoadedScript>(() => Produce(request), LazyThreadSafetyMode.ExecutionAndPublication);
        });
        try
        {
            var script = lazy.Value;
            // Published before the producer is let go of: a request after this finds it in memory.
            if (created) _memory[request.Hash] = new WeakReference<LoadedScript>(script);
            return (script, created ? script.Origin : StepCacheSource.Memory);
        }
        finally
        {
            if (created) _producing.TryRemove(new KeyValuePair<string, Lazy<LoadedScript>>(request.Hash, lazy));
            SweepMemory();
        }
    }

    /// <summary>Forgets the hashes of scripts that were unloaded (every so many requests; the table holds one small
    /// entry per script ever loaded otherwise).</summary>
    private void SweepMemory()
    {
        if (_memory.Count < _sweepAt) return;
        foreach (var (hash, held) in _memory)
        {
            if (!held.TryGetTarget(out _)) _memory.TryRemove(new KeyValuePair<string, WeakReference<LoadedScript>>(hash, held));
        }
        _sweepAt = Math.Max(256, _memory.Count * 2);
    }

    private int _sweepAt = 256;

    private LoadedScript Produce(ScriptRequest request)
    {
        var cached = TryLoadFromDisk(request.Hash);
        if (cached is not null) return cached;
        var output = _options.Process?.TryBuild(request) ?? ScriptBuilder.Build(request);
        if (output.Assembly is null || output.Pdb is null) return LoadedScript.Failed(request.Hash, output.Diagnostics);
        SaveToDisk(request.Hash, output.Assembly, output.Pdb);
        return LoadedScript.Load(request.Hash, new MemoryStream(output.Assembly), new MemoryStream(output.Pdb), StepCacheSource.Compiled);
    }

    private LoadedScript? TryLoadFromDisk(string hash)
    {
        if (_options.CacheDirectory is not { } dir) return null;
        var dll = Path.Combine(dir, hash + ".dll");
        var pdb = Path.Combine(dir, hash + ".pdb");
        if (!File.Exists(dll) || !File.Exists(pdb)) return null;
        try
        {
            using var dllStream = File.OpenRead(dll);
            using var pdbStream = File.OpenRead(pdb);
            return LoadedScript.Load(hash, dllStream, pdbStream, StepCacheSource.Disk);
        }
        catch (Exception e) when (e is BadImageFormatException or IOException or TypeLoadException or InvalidOperationException)
        {
            // A truncated or foreign file: compile again and overwrite it.
            return null;
        }
    }

    private void SaveToDisk(string hash, byte[] assembly, byte[] pdb)
    {
        if (_options.CacheDirectory is not { } dir) return;
        try
        {
            Directory.CreateDirectory(dir);
            // PDB first, DLL last: a DLL on disk means its PDB is complete. Temp file + rename keeps readers safe.
            Write(Path.Combine(dir, hash + ".pdb"), pdb);
            Write(Path.Combine(dir, hash + ".dll"), assembly);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The cache is an optimisation: a read-only or full disk only costs the next start a compile.
        }

        static void Write(string path, byte[] bytes)
        {
            var temp = path + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
    }

    private static Diagnostic[] Map(IReadOnlyList<RawDiagnostic> raw, SourceLocation origin) =>
        raw.Select(d => new Diagnostic(d.Code, d.Message, MapLocation(origin, d.Line, d.Column), d.Hint)).ToArray();

    /// <summary>Line n, column c of the code → the user's file (a .csx starts at 1:1; inline YAML code at its line and column).</summary>
    internal static SourceLocation MapLocation(SourceLocation origin, int line, int column)
    {
        var baseLine = Math.Max(origin.Line, 1);
        var baseColumn = Math.Max(origin.Column, 1);
        if (line <= 0) return new SourceLocation(origin.File, baseLine, baseColumn);
        return new SourceLocation(origin.File, baseLine + line - 1, Math.Max(column, 1) + baseColumn - 1);
    }
}

internal enum ScriptKind { Step, Condition }

/// <summary>What to compile, and its content hash (computed without Roslyn).</summary>
internal sealed class ScriptRequest
{
    public ScriptRequest(ScriptKind kind, string code, Type? adaptorType, string? adaptorGlobalName, IReadOnlyList<Assembly> apiAssemblies)
    {
        Kind = kind;
        Code = code;
        AdaptorType = adaptorType;
        AdaptorGlobalName = adaptorGlobalName;
        ApiAssemblies = apiAssemblies;
        Hash = ComputeHash();
    }

    public ScriptKind Kind { get; }

    public string Code { get; }

    public Type? AdaptorType { get; }

    public string? AdaptorGlobalName { get; }

    public IReadOnlyList<Assembly> ApiAssemblies { get; }

    public string Hash { get; }

    private string ComputeHash()
    {
        var text = new StringBuilder();
        text.Append("ferry-script/").Append(Sandbox.RulesVersion).Append('/').Append(Kind).Append('\n');
        text.Append(Environment.Version).Append('\n');
        text.Append(typeof(StepCompiler).Assembly.ManifestModule.ModuleVersionId).Append('\n');
        if (AdaptorType is not null)
            text.Append(AdaptorType.FullName).Append('|').Append(AdaptorType.Assembly.ManifestModule.ModuleVersionId).Append('|').Append(AdaptorGlobalName).Append('\n');
        foreach (var assembly in ApiAssemblies.OrderBy(a => a.FullName, StringComparer.Ordinal))
            text.Append(assembly.FullName).Append('|').Append(assembly.ManifestModule.ModuleVersionId).Append('\n');
        text.Append(Code);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..40];
    }
}
