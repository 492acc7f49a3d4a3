using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Ferry.Scripting.Roslyn;

/// <summary>
/// Walks the user's part of a script with its semantic model and reports every construct, type and member the
/// sandbox refuses (all at once, one per construct and line). Runs on the original tree, before instrumentation.
/// </summary>
internal sealed class SandboxChecker(SemanticModel model, UserRegion region, ScriptKind kind)
{
    private readonly IAssemblySymbol _script = model.Compilation.Assembly;
    private readonly List<RawDiagnostic> _found = [];
    private readonly HashSet<(int Line, string What)> _seen = [];

    public IReadOnlyList<RawDiagnostic> Check()
    {
        var root = model.SyntaxTree.GetRoot();
        foreach (var directive in root.DescendantTrivia(descendIntoTrivia: true).Where(t => t.IsDirective && region.Contains(t.SpanStart)))
        {
            switch (directive.GetStructure())
            {
                case ReferenceDirectiveTriviaSyntax:
                    Construct(directive.SpanStart, "'#r' directive", "loading assemblies", "Step code cannot load assemblies; the adaptor and standard library are already available.");
                    break;
                case LoadDirectiveTriviaSyntax:
                    Construct(directive.SpanStart, "'#load' directive", "loading files", "Put shared code in the step itself; step code cannot load other files.");
                    break;
                case LineDirectiveTriviaSyntax or LineSpanDirectiveTriviaSyntax:
                    Construct(directive.SpanStart, "'#line' directive", "changing line numbers", "Remove it: Ferry maps errors to your file's lines itself.");
                    break;
            }
        }

        foreach (var token in root.DescendantTokens().Where(t => region.Contains(t.SpanStart)))
        {
            CheckToken(token);
        }

        foreach (var node in root.DescendantNodes(descendIntoChildren: n => !IsNameof(n)))
        {
            if (!region.Contains(node)) continue;
            CheckSyntax(node);
            CheckSemantics(node);
        }
        return _found;
    }

    private void CheckToken(SyntaxToken token)
    {
        switch (token.Kind())
        {
            case SyntaxKind.UnsafeKeyword: Construct(token.SpanStart, "'unsafe' code", "unsafe code", "Use arrays, lists and spans; pointers are not available."); break;
            case SyntaxKind.ExternKeyword: Construct(token.SpanStart, "'extern'", "native interop (P/Invoke)", "Reach native code through an adaptor."); break;
            case SyntaxKind.FixedKeyword: Construct(token.SpanStart, "'fixed'", "unsafe code", "Use arrays, lists and spans; pinning memory is not available."); break;
            case SyntaxKind.StackAllocKeyword: Construct(token.SpanStart, "'stackalloc'", "unsafe code", "Use an array or a List<T>."); break;
            case SyntaxKind.LockKeyword: Construct(token.SpanStart, "'lock'", "threads", "A step runs as one logical thread; it needs no locks."); break;
            case SyntaxKind.TypeOfKeyword: Construct(token.SpanStart, "'typeof'", "reflection", "Step code works on JSON state; reflection is not available."); break;
            case SyntaxKind.ArgListKeyword or SyntaxKind.MakeRefKeyword or SyntaxKind.RefTypeKeyword or SyntaxKind.RefValueKeyword:
                Construct(token.SpanStart, $"'{token.ValueText}'", "undocumented runtime features", "Use ordinary parameters and values.");
                break;
            case SyntaxKind.MinusGreaterThanToken: Construct(token.SpanStart, "'->'", "pointers", "Use arrays, lists and spans; pointers are not available."); break;
            case SyntaxKind.IdentifierToken when token.ValueText.StartsWith("__", StringComparison.Ordinal):
                Construct(token.SpanStart, $"the name '{token.ValueText}'", "reserved names", "Names starting with '__' are reserved for Ferry; rename it.");
                break;
        }
    }

    private void CheckSyntax(SyntaxNode node)
    {
        switch (node)
        {
            case AttributeListSyntax list:
                var dll = list.Attributes.Any(a => a.Name.ToString().Contains("DllImport", StringComparison.Ordinal) || a.Name.ToString().Contains("LibraryImport", StringComparison.Ordinal));
                if (dll) Construct(node.SpanStart, "'DllImport'", "native interop (P/Invoke)", "Reach native code through an adaptor.");
                else Construct(node.SpanStart, "an attribute", "attributes", "Remove the [ … ]; step code cannot change how the runtime treats it.");
                break;
            case DestructorDeclarationSyntax:
                Construct(node.SpanStart, "a finalizer", "finalizers", "Remove the ~Finalizer(); use 'using' for clean-up.");
                break;
            case PointerTypeSyntax or FunctionPointerTypeSyntax:
                Construct(node.SpanStart, "a pointer type", "pointers", "Use arrays, lists and spans; pointers are not available.");
                break;
            case PrefixUnaryExpressionSyntax u when u.IsKind(SyntaxKind.AddressOfExpression) || u.IsKind(SyntaxKind.PointerIndirectionExpression):
                Construct(node.SpanStart, "a pointer operator", "pointers", "Use arrays, lists and spans; pointers are not available.");
                break;
            case MethodDeclarationSyntax m when m.Modifiers.Any(SyntaxKind.AsyncKeyword) && IsVoid(m.ReturnType):
                Construct(m.Identifier.SpanStart, "an 'async void' method", "async void", "Return Task instead of void, and await the call.");
                break;
            case LocalFunctionStatementSyntax f when f.Modifiers.Any(SyntaxKind.AsyncKeyword) && IsVoid(f.ReturnType):
                Construct(f.Identifier.SpanStart, "an 'async void' method", "async void", "Return Task instead of void, and await the call.");
                break;
            case AnonymousFunctionExpressionSyntax lambda when lambda.AsyncKeyword.IsKind(SyntaxKind.AsyncKeyword)
                && model.GetSymbolInfo(lambda).Symbol is IMethodSymbol { ReturnsVoid: true }:
                Construct(lambda.SpanStart, "an 'async void' lambda", "async void", "Pass the lambda where a Func<Task> is expected, and await it.");
                break;
            case MemberAccessExpressionSyntax { Name.Identifier.ValueText: "GetType" } access when model.GetTypeInfo(access.Expression).Type is IDynamicTypeSymbol:
                Construct(access.Name.SpanStart, "'GetType' on a dynamic value", "reflection", "Step code works on JSON state; reflection is not available.");
                break;
            case MemberBindingExpressionSyntax { Name.Identifier.ValueText: "GetType" } binding when model.GetSymbolInfo(binding).Symbol is null:
                Construct(binding.Name.SpanStart, "'GetType' on a dynamic value", "reflection", "Step code works on JSON state; reflection is not available.");
                break;
            case AwaitExpressionSyntax when kind == ScriptKind.Condition:
                Construct(node.SpanStart, "'await' in an edge condition", "conditions", "Conditions are evaluated synchronously on the state; fetch data in a step instead.");
                break;
            case AssignmentExpressionSyntax assignment
                when model.GetSymbolInfo(assignment.Left).Symbol is IPropertySymbol { IsStatic: true } or IFieldSymbol { IsStatic: true }
                && !SandboxRules.IsScriptOwn(model.GetSymbolInfo(assignment.Left).Symbol!, _script):
                Construct(assignment.SpanStart, $"changing '{SandboxRules.Name(model.GetSymbolInfo(assignment.Left).Symbol!)}'", "process-wide settings",
                    "Steps share the process; pass a CultureInfo or option to the call that needs it instead.");
                break;
        }
    }

    private void CheckSemantics(SyntaxNode node)
    {
        if (node is ExpressionSyntax or ConstructorInitializerSyntax or PrimaryConstructorBaseTypeSyntax)
        {
            var info = model.GetSymbolInfo(node);
            if (info.Symbol is { } symbol) Refuse(node, SandboxRules.CheckMember(symbol, _script));
            else if (info.CandidateReason == CandidateReason.LateBound)
            {
                // A dynamically bound call (a dynamic argument): the binder may pick any candidate, so all must be allowed.
                foreach (var candidate in info.CandidateSymbols) Refuse(node, SandboxRules.CheckMember(candidate, _script));
            }
        }
        if (node is ExpressionSyntax expression)
        {
            var type = model.GetTypeInfo(expression);
            Refuse(node, SandboxRules.CheckType(type.Type, _script));
            Refuse(node, SandboxRules.CheckType(type.ConvertedType, _script));
            if (model.GetConversion(expression).MethodSymbol is { } conversion) Refuse(node, SandboxRules.CheckMember(conversion, _script));
        }
        if (node is QueryClauseSyntax clause)
        {
            var q = model.GetQueryClauseInfo(clause);
            if (q.CastInfo.Symbol is { } cast) Refuse(node, SandboxRules.CheckMember(cast, _script));
            if (q.OperationInfo.Symbol is { } op) Refuse(node, SandboxRules.CheckMember(op, _script));
        }
        if (node is SelectOrGroupClauseSyntax or OrderingSyntax && model.GetSymbolInfo(node).Symbol is { } selected)
            Refuse(node, SandboxRules.CheckMember(selected, _script));
        if (node is VariableDeclaratorSyntax or SingleVariableDesignationSyntax or ParameterSyntax or CatchDeclarationSyntax or ForEachStatementSyntax
            && model.GetDeclaredSymbol(node) is { } declared)
            Refuse(node, SandboxRules.CheckMember(declared, _script));
        if (node is BaseTypeDeclarationSyntax && model.GetDeclaredSymbol(node) is INamedTypeSymbol declaredType)
        {
            Refuse(node, SandboxRules.CheckType(declaredType.BaseType, _script));
            foreach (var i in declaredType.Interfaces) Refuse(node, SandboxRules.CheckType(i, _script));
        }
    }

    private bool IsNameof(SyntaxNode node) =>
        node is InvocationExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "nameof" } } invocation
        && model.GetSymbolInfo(invocation).Symbol is null;

    private static bool IsVoid(TypeSyntax type) => type is PredefinedTypeSyntax p && p.Keyword.IsKind(SyntaxKind.VoidKeyword);

    private void Refuse(SyntaxNode node, Refusal? refusal)
    {
        if (refusal is null) return;
        var (line, column) = region.Map(node.SpanStart);
        if (!_seen.Add((line, refusal.Message))) return;
        _found.Add(new RawDiagnostic("FERRY210", refusal.Message, refusal.Hint, line, column));
    }

    private void Construct(int position, string what, string category, string hint)
    {
        var (line, column) = region.Map(position);
        if (!_seen.Add((line, what))) return;
        _found.Add(new RawDiagnostic("FERRY211", $"{Capitalize(what)} is not allowed in step code ({category}).", hint, line, column));
    }

    private static string Capitalize(string s) => s.Length > 0 && char.IsLower(s[0]) ? char.ToUpperInvariant(s[0]) + s[1..] : s;
}
