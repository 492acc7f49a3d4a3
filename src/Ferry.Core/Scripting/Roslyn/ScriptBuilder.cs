using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;

namespace Ferry.Scripting.Roslyn;

/// <summary>The result of a Roslyn build: the assembly and PDB, or the diagnostics that stopped it.</summary>
internal sealed record BuildOutput(byte[]? Assembly, byte[]? Pdb, IReadOnlyList<RawDiagnostic> Diagnostics);

/// <summary>
/// Compiles a step or condition with Roslyn: composes the source (user code under <c>#line 1</c>, hidden glue),
/// reports compile errors and sandbox refusals on the original tree, then instruments a copy and emits it.
/// Only <see cref="StepCompiler"/> calls it, on a cache miss.
/// </summary>
internal static class ScriptBuilder
{
    public static BuildOutput Build(ScriptRequest request)
    {
        var composed = Compose(request, out var problem);
        if (problem is not null) return new BuildOutput(null, null, [problem]);

        var tree = CSharpSyntaxTree.ParseText(SourceText.From(composed.Text, Encoding.UTF8), RoslynShared.ParseOptions, path: ScriptNames.DebugFile(request.Hash));
        var compilation = CSharpCompilation.CreateScriptCompilation(
            ScriptNames.AssemblyName(request.Hash), tree, RoslynShared.References(request), RoslynShared.CompilationOptions,
            previousScriptCompilation: null, returnType: typeof(object), globalsType: typeof(StepGlobals));

        var region = new UserRegion(tree.GetText(), composed.UserStart, composed.UserEnd);
        var diagnostics = new List<RawDiagnostic>();
        foreach (var d in compilation.GetDiagnostics())
        {
            if (d.Severity != DiagnosticSeverity.Error) continue;
            var (line, column) = region.Map(d.Location.SourceSpan.Start);
            diagnostics.Add(new RawDiagnostic("FERRY200", $"{d.GetMessage(CultureInfo.InvariantCulture)} ({d.Id})", CompileHint(d.Id), line, column));
        }
        var model = compilation.GetSemanticModel(tree);
        diagnostics.AddRange(new SandboxChecker(model, region, request.Kind).Check());
        if (diagnostics.Count > 0)
        {
            var ordered = diagnostics.Distinct().OrderBy(d => d.Line).ThenBy(d => d.Column).ToArray();
            return new BuildOutput(null, null, ordered);
        }

        var instrumented = new Instrumenter(model, region).Visit(tree.GetRoot())!;
        var emitted = compilation.ReplaceSyntaxTree(tree, tree.WithRootAndOptions(instrumented, tree.Options));
        using var pe = new MemoryStream();
        using var pdb = new MemoryStream();
        var result = emitted.Emit(pe, pdb, options: RoslynShared.EmitOptions);
        if (!result.Success)
        {
            var first = result.Diagnostics.First(d => d.Severity == DiagnosticSeverity.Error);
            var (line, column) = region.Map(first.Location.SourceSpan.Start);
            return new BuildOutput(null, null, [new RawDiagnostic("FERRY299",
                $"Ferry could not instrument this code for its sandbox: {first.GetMessage(CultureInfo.InvariantCulture)} ({first.Id}).",
                "This is a Ferry bug: please report it with the step code; rewriting the statement differently usually works around it.", line, column)]);
        }
        return new BuildOutput(pe.ToArray(), pdb.ToArray(), []);
    }

    private sealed record Composed(string Text, int UserStart, int UserEnd);

    private static Composed Compose(ScriptRequest request, out RawDiagnostic? problem)
    {
        problem = null;
        var file = ScriptNames.DebugFile(request.Hash);
        var code = request.Code;
        var text = new StringBuilder();
        if (request.Kind == ScriptKind.Condition)
        {
            text.Append("#line hidden\nreturn global::Ferry.Scripting.ConditionValue.ToBoolean((object)(\n");
            text.Append("#line 1 \"").Append(file).Append("\"\n");
            var start = text.Length;
            text.Append(code);
            var end = text.Length;
            text.Append("\n#line hidden\n));\n");
            return new Composed(text.ToString(), start, end);
        }

        text.Append("#line 1 \"").Append(file).Append("\"\n");
        var userStart = text.Length;
        text.Append(code);
        var userEnd = text.Length;
        // A script with no statement at all (empty, or only comments) does not emit; a hidden empty statement fixes that.
        if (!CSharpSyntaxTree.ParseText(code, RoslynShared.ParseOptions).GetRoot().DescendantTokens().Any(t => !t.IsKind(SyntaxKind.EndOfFileToken)))
            text.Append("\n#line hidden\n;\n");
        if (request.AdaptorType is { } adaptor && request.AdaptorGlobalName is { } name)
        {
            if (!SyntaxFacts.IsValidIdentifier(name) || SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None)
            {
                problem = new RawDiagnostic("FERRY201", $"The adaptor name '{name}' cannot be used as a C# name in step code.",
                    "Name adaptors with letters, digits and underscores (e.g. 'godata').", 0, 0);
            }
            var typeName = "global::" + (adaptor.FullName ?? adaptor.Name).Replace('+', '.');
            // A property, not a variable: members may follow the user's statements, so `using` lines stay first.
            text.Append("\n#line hidden\n").Append(typeName).Append(' ').Append(name).Append(" => (").Append(typeName).Append(")__adaptor;\n");
        }
        return new Composed(text.ToString(), userStart, userEnd);
    }

    private static string CompileHint(string id) => id switch
    {
        "CS0103" => "Check the spelling; step code sees state, log, cursor, its adaptor and the standard library.",
        "CS1002" or "CS1513" or "CS1026" => "A ';', '}' or ')' is missing near this position.",
        "CS0246" => "Check the type name; only the step allow-list is available (docs/job-api.md, Sandbox).",
        _ => "Fix the C# at this position.",
    };
}

/// <summary>Where the user's code is inside the composed source, and how positions map back to it.</summary>
internal sealed class UserRegion(SourceText text, int start, int end)
{
    private readonly int _firstLine = text.Lines.GetLinePosition(start).Line;

    public bool Contains(int position) => position >= start && position <= end;

    public bool Contains(SyntaxNode node) => Contains(node.SpanStart) && node.SpanStart < end + 1;

    /// <summary>1-based line and column in the user's code; (0, 0) for positions in Ferry's hidden glue.</summary>
    public (int Line, int Column) Map(int position)
    {
        if (!Contains(position)) return (0, 0);
        var p = text.Lines.GetLinePosition(position);
        return (p.Line - _firstLine + 1, p.Character + 1);
    }
}

/// <summary>Roslyn objects shared by every build. Kept apart so that merely loading the compiler classes never loads Roslyn.</summary>
internal static class RoslynShared
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.None, SourceCodeKind.Script);

    public static readonly CSharpCompilationOptions CompilationOptions = new(
        OutputKind.DynamicallyLinkedLibrary,
        scriptClassName: ScriptNames.ClassName,
        usings:
        [
            "System", "System.Linq", "System.Collections.Generic", "System.Text", "System.Text.RegularExpressions",
            "System.Globalization", "System.Threading.Tasks", "Ferry.Json", "Ferry.Steps",
        ],
        optimizationLevel: OptimizationLevel.Release,
        allowUnsafe: false,
        nullableContextOptions: NullableContextOptions.Disable,
        metadataReferenceResolver: null,
        sourceReferenceResolver: null,
        deterministic: true);

    public static readonly EmitOptions EmitOptions = new(debugInformationFormat: DebugInformationFormat.PortablePdb);

    private static readonly Lock ReferencesGate = new();
    private static readonly Timer ReleaseTimer = new(_ => ReleaseIfIdle());
    private static MetadataReference[]? _framework;
    private static readonly ConcurrentDictionary<string, MetadataReference> ByPath = new(StringComparer.Ordinal);
    private static long _lastUse;

    /// <summary>
    /// How long the metadata references stay after the last build. They are memory-mapped files plus the symbol tables
    /// Roslyn builds over them (tens of MB); a server compiles at deploy and then only runs steps, so it lets them go
    /// and returns to its idle footprint. The next build maps them again (a slower first build, not an error).
    /// </summary>
    internal static TimeSpan ReleaseAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether the references are held now (tests).</summary>
    internal static bool ReferencesLoaded
    {
        get
        {
            lock (ReferencesGate) return _framework is not null;
        }
    }

    public static IEnumerable<MetadataReference> References(ScriptRequest request)
    {
        MetadataReference[] framework;
        lock (ReferencesGate)
        {
            _lastUse = Environment.TickCount64;
            framework = _framework ??= LoadFramework();
            ReleaseTimer.Change(ReleaseAfter, Timeout.InfiniteTimeSpan);
        }
        var assemblies = new List<Assembly> { typeof(StepCompiler).Assembly };
        assemblies.AddRange(request.ApiAssemblies);
        if (request.AdaptorType is not null) assemblies.Add(request.AdaptorType.Assembly);
        var extra = assemblies.Where(a => !a.IsDynamic && a.Location.Length > 0).Select(a => a.Location).Distinct(StringComparer.Ordinal)
            .Select(path => ByPath.GetOrAdd(path, Reference));
        return framework.Concat(extra);
    }

    /// <summary>
    /// Memory-maps the file (AssemblyMetadata.CreateFromFile) instead of reading it into the heap as
    /// MetadataReference.CreateFromFile does: the shared framework alone is about 60 MB of DLLs, of which a build
    /// touches only the metadata pages.
    /// </summary>
    private static MetadataReference Reference(string path) => AssemblyMetadata.CreateFromFile(path).GetReference(filePath: path);

    private static void ReleaseIfIdle()
    {
        lock (ReferencesGate)
        {
            var idle = TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastUse);
            if (_framework is null) return;
            if (idle < ReleaseAfter)
            {
                ReleaseTimer.Change(ReleaseAfter - idle, Timeout.InfiniteTimeSpan);
                return;
            }
            // Not disposed: a build still running keeps its references alive; the mappings go with the garbage.
            _framework = null;
            ByPath.Clear();
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    // The whole shared framework is referenced (not only what is allowed) so that a refused type such as
    // System.IO.File resolves and is reported by name, instead of "the name 'File' does not exist".
    private static MetadataReference[] LoadFramework()
    {
        var dir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var references = new List<MetadataReference>();
        foreach (var path in Directory.EnumerateFiles(dir, "*.dll"))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (!(name.StartsWith("System.", StringComparison.Ordinal) || name is "System" or "mscorlib" or "netstandard" or "Microsoft.CSharp"
                  || name.StartsWith("Microsoft.Win32.", StringComparison.Ordinal))) continue;
            if (name.Contains("Native", StringComparison.Ordinal)) continue;
            try
            {
                using var stream = File.OpenRead(path);
                using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
                if (!pe.HasMetadata) continue;
            }
            catch (BadImageFormatException)
            {
                continue;
            }
            references.Add(Reference(path));
        }
        return references.ToArray();
    }
}
