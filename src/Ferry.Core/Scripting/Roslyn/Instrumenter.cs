using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace Ferry.Scripting.Roslyn;

/// <summary>
/// Rewrites the user's code for the emitted assembly (never for diagnostics): budget ticks at loop bodies, labels
/// and catch blocks, <c>Enter()</c> at every method/lambda/accessor entry, <c>Count()</c> around sized allocations,
/// and <see cref="DynamicGuard"/> around every dynamic receiver and operand. Nothing inserted contains a line break,
/// so the PDB keeps the user's line numbers. Semantic questions are asked of the original node.
/// </summary>
internal sealed class Instrumenter(SemanticModel model, UserRegion region) : CSharpSyntaxRewriter
{
    private const string InstanceBudget = "__budget";
    private const string StaticBudget = "global::Ferry.Scripting.ExecutionBudget.Current";
    private static readonly ExpressionSyntax GuardTemplate =
        ParseExpression("((dynamic)global::Ferry.Scripting.DynamicGuard.Check((object)(__value)))");

    // `await d` where d is dynamic (e.g. an adaptor call with a state argument binds dynamically and yields a Task).
    private static readonly ExpressionSyntax AwaitGuardTemplate =
        ParseExpression("((dynamic)global::Ferry.Scripting.DynamicGuard.CheckAwaitable((object)(__value)))");

    public override SyntaxNode? Visit(SyntaxNode? node)
    {
        var visited = base.Visit(node);
        if (node is ExpressionSyntax original && visited is ExpressionSyntax rewritten && region.Contains(original) && NeedsGuard(original))
            return Guard(rewritten, original.Parent is AwaitExpressionSyntax ? AwaitGuardTemplate : GuardTemplate);
        return visited;
    }

    // ---- loops, labels, catch blocks: Tick ------------------------------------------------------------------

    public override SyntaxNode? VisitWhileStatement(WhileStatementSyntax node)
    {
        var v = (WhileStatementSyntax)base.VisitWhileStatement(node)!;
        return region.Contains(node) ? v.WithStatement(Prepend(v.Statement, Tick(node))) : v;
    }

    public override SyntaxNode? VisitDoStatement(DoStatementSyntax node)
    {
        var v = (DoStatementSyntax)base.VisitDoStatement(node)!;
        return region.Contains(node) ? v.WithStatement(Prepend(v.Statement, Tick(node))) : v;
    }

    public override SyntaxNode? VisitForStatement(ForStatementSyntax node)
    {
        var v = (ForStatementSyntax)base.VisitForStatement(node)!;
        return region.Contains(node) ? v.WithStatement(Prepend(v.Statement, Tick(node))) : v;
    }

    public override SyntaxNode? VisitForEachStatement(ForEachStatementSyntax node)
    {
        var v = (ForEachStatementSyntax)base.VisitForEachStatement(node)!;
        return region.Contains(node) ? v.WithStatement(Prepend(v.Statement, Tick(node))) : v;
    }

    public override SyntaxNode? VisitForEachVariableStatement(ForEachVariableStatementSyntax node)
    {
        var v = (ForEachVariableStatementSyntax)base.VisitForEachVariableStatement(node)!;
        return region.Contains(node) ? v.WithStatement(Prepend(v.Statement, Tick(node))) : v;
    }

    public override SyntaxNode? VisitLabeledStatement(LabeledStatementSyntax node)
    {
        var v = (LabeledStatementSyntax)base.VisitLabeledStatement(node)!;
        return region.Contains(node) ? v.WithStatement(Prepend(v.Statement, Tick(node))) : v;
    }

    public override SyntaxNode? VisitCatchClause(CatchClauseSyntax node)
    {
        var v = (CatchClauseSyntax)base.VisitCatchClause(node)!;
        return region.Contains(node) ? v.WithBlock(InsertFirst(v.Block, Tick(node))) : v;
    }

    // ---- entries: Enter -------------------------------------------------------------------------------------

    public override SyntaxNode? VisitMethodDeclaration(MethodDeclarationSyntax node)
    {
        var v = (MethodDeclarationSyntax)base.VisitMethodDeclaration(node)!;
        if (!region.Contains(node)) return v;
        if (v.Body is not null) return v.WithBody(InsertFirst(v.Body, Enter(node)));
        if (v.ExpressionBody is null) return v;
        var body = FromArrow(v.ExpressionBody, ReturnsValue(model.GetDeclaredSymbol(node)), Enter(node), v.SemicolonToken);
        return v.WithExpressionBody(null).WithSemicolonToken(default).WithBody(body);
    }

    public override SyntaxNode? VisitLocalFunctionStatement(LocalFunctionStatementSyntax node)
    {
        var v = (LocalFunctionStatementSyntax)base.VisitLocalFunctionStatement(node)!;
        if (!region.Contains(node)) return v;
        if (v.Body is not null) return v.WithBody(InsertFirst(v.Body, Enter(node)));
        if (v.ExpressionBody is null) return v;
        var body = FromArrow(v.ExpressionBody, ReturnsValue(model.GetDeclaredSymbol(node) as IMethodSymbol), Enter(node), v.SemicolonToken);
        return v.WithExpressionBody(null).WithSemicolonToken(default).WithBody(body);
    }

    public override SyntaxNode? VisitConstructorDeclaration(ConstructorDeclarationSyntax node)
    {
        var v = (ConstructorDeclarationSyntax)base.VisitConstructorDeclaration(node)!;
        if (!region.Contains(node)) return v;
        if (v.Body is not null) return v.WithBody(InsertFirst(v.Body, Enter(node)));
        if (v.ExpressionBody is null) return v;
        return v.WithExpressionBody(null).WithSemicolonToken(default).WithBody(FromArrow(v.ExpressionBody, false, Enter(node), v.SemicolonToken));
    }

    public override SyntaxNode? VisitOperatorDeclaration(OperatorDeclarationSyntax node)
    {
        var v = (OperatorDeclarationSyntax)base.VisitOperatorDeclaration(node)!;
        if (!region.Contains(node)) return v;
        if (v.Body is not null) return v.WithBody(InsertFirst(v.Body, Enter(node)));
        if (v.ExpressionBody is null) return v;
        return v.WithExpressionBody(null).WithSemicolonToken(default).WithBody(FromArrow(v.ExpressionBody, true, Enter(node), v.SemicolonToken));
    }

    public override SyntaxNode? VisitConversionOperatorDeclaration(ConversionOperatorDeclarationSyntax node)
    {
        var v = (ConversionOperatorDeclarationSyntax)base.VisitConversionOperatorDeclaration(node)!;
        if (!region.Contains(node)) return v;
        if (v.Body is not null) return v.WithBody(InsertFirst(v.Body, Enter(node)));
        if (v.ExpressionBody is null) return v;
        return v.WithExpressionBody(null).WithSemicolonToken(default).WithBody(FromArrow(v.ExpressionBody, true, Enter(node), v.SemicolonToken));
    }

    public override SyntaxNode? VisitAccessorDeclaration(AccessorDeclarationSyntax node)
    {
        var v = (AccessorDeclarationSyntax)base.VisitAccessorDeclaration(node)!;
        if (!region.Contains(node)) return v;
        if (v.Body is not null) return v.WithBody(InsertFirst(v.Body, Enter(node)));
        if (v.ExpressionBody is null) return v;
        var returns = node.IsKind(SyntaxKind.GetAccessorDeclaration);
        return v.WithExpressionBody(null).WithSemicolonToken(default).WithBody(FromArrow(v.ExpressionBody, returns, Enter(node), v.SemicolonToken));
    }

    public override SyntaxNode? VisitPropertyDeclaration(PropertyDeclarationSyntax node)
    {
        var v = (PropertyDeclarationSyntax)base.VisitPropertyDeclaration(node)!;
        if (!region.Contains(node) || v.ExpressionBody is null) return v;
        return v.WithExpressionBody(null).WithSemicolonToken(default).WithAccessorList(GetterFrom(v.ExpressionBody, Enter(node), v.SemicolonToken));
    }

    public override SyntaxNode? VisitIndexerDeclaration(IndexerDeclarationSyntax node)
    {
        var v = (IndexerDeclarationSyntax)base.VisitIndexerDeclaration(node)!;
        if (!region.Contains(node) || v.ExpressionBody is null) return v;
        return v.WithExpressionBody(null).WithSemicolonToken(default).WithAccessorList(GetterFrom(v.ExpressionBody, Enter(node), v.SemicolonToken));
    }

    public override SyntaxNode? VisitParenthesizedLambdaExpression(ParenthesizedLambdaExpressionSyntax node)
    {
        var v = (ParenthesizedLambdaExpressionSyntax)base.VisitParenthesizedLambdaExpression(node)!;
        if (!region.Contains(node)) return v;
        if (v.Block is not null) return v.WithBlock(InsertFirst(v.Block, Enter(node)));
        return v.WithExpressionBody(null).WithBlock(FromLambda(v.ExpressionBody!, ReturnsValue(model.GetSymbolInfo(node).Symbol as IMethodSymbol), Enter(node)));
    }

    public override SyntaxNode? VisitSimpleLambdaExpression(SimpleLambdaExpressionSyntax node)
    {
        var v = (SimpleLambdaExpressionSyntax)base.VisitSimpleLambdaExpression(node)!;
        if (!region.Contains(node)) return v;
        if (v.Block is not null) return v.WithBlock(InsertFirst(v.Block, Enter(node)));
        return v.WithExpressionBody(null).WithBlock(FromLambda(v.ExpressionBody!, ReturnsValue(model.GetSymbolInfo(node).Symbol as IMethodSymbol), Enter(node)));
    }

    public override SyntaxNode? VisitAnonymousMethodExpression(AnonymousMethodExpressionSyntax node)
    {
        var v = (AnonymousMethodExpressionSyntax)base.VisitAnonymousMethodExpression(node)!;
        return region.Contains(node) && v.Block is not null ? v.WithBlock(InsertFirst(v.Block, Enter(node))) : v;
    }

    // ---- sized allocations: Count ---------------------------------------------------------------------------

    public override SyntaxNode? VisitArrayCreationExpression(ArrayCreationExpressionSyntax node)
    {
        var v = (ArrayCreationExpressionSyntax)base.VisitArrayCreationExpression(node)!;
        if (!region.Contains(node) || v.Initializer is not null) return v;
        var size = model.GetTypeInfo(node).Type is IArrayTypeSymbol array ? ElementSize(array.ElementType) : 8;
        var ranks = v.Type.RankSpecifiers.Select(rank => rank.WithSizes(SeparatedList(
            rank.Sizes.Select(s => s is OmittedArraySizeExpressionSyntax ? s : Count(node, s, size)), rank.Sizes.GetSeparators())));
        return v.WithType(v.Type.WithRankSpecifiers(List(ranks)));
    }

    public override SyntaxNode? VisitObjectCreationExpression(ObjectCreationExpressionSyntax node)
    {
        var v = (ObjectCreationExpressionSyntax)base.VisitObjectCreationExpression(node)!;
        return region.Contains(node) && v.ArgumentList is { } args && node.ArgumentList is { } originalArgs ? v.WithArgumentList(CountArguments(node, originalArgs, args)) : v;
    }

    public override SyntaxNode? VisitImplicitObjectCreationExpression(ImplicitObjectCreationExpressionSyntax node)
    {
        var v = (ImplicitObjectCreationExpressionSyntax)base.VisitImplicitObjectCreationExpression(node)!;
        return region.Contains(node) ? v.WithArgumentList(CountArguments(node, node.ArgumentList, v.ArgumentList)) : v;
    }

    public override SyntaxNode? VisitInvocationExpression(InvocationExpressionSyntax node)
    {
        var v = (InvocationExpressionSyntax)base.VisitInvocationExpression(node)!;
        return region.Contains(node) ? v.WithArgumentList(CountArguments(node, node.ArgumentList, v.ArgumentList)) : v;
    }

    private ArgumentListSyntax CountArguments(SyntaxNode original, ArgumentListSyntax originalArgs, ArgumentListSyntax args)
    {
        if (model.GetSymbolInfo(original).Symbol is not IMethodSymbol method) return args;
        var m = method.ReducedFrom ?? method;
        var offset = method.ReducedFrom is null ? 0 : 1;
        var list = args.Arguments;
        for (var i = 0; i < originalArgs.Arguments.Count && i < list.Count; i++)
        {
            var arg = originalArgs.Arguments[i];
            var parameter = arg.NameColon is { } nc
                ? m.Parameters.FirstOrDefault(p => p.Name == nc.Name.Identifier.ValueText)
                : i + offset < m.Parameters.Length ? m.Parameters[i + offset] : null;
            if (parameter is null || !arg.RefKindKeyword.IsKind(SyntaxKind.None)) continue;
            if (AllocationSize(m, parameter.Name) is not { } size) continue;
            list = list.Replace(list[i], list[i].WithExpression(Count(original, list[i].Expression, size)));
        }
        return args.WithArguments(list);
    }

    /// <summary>The element size when the parameter is an element count that the call will allocate.</summary>
    private static int? AllocationSize(IMethodSymbol method, string parameter)
    {
        var type = method.ContainingType.OriginalDefinition.ToDisplayString(SandboxRules.Display);
        var text = type is "string" or "System.Text.StringBuilder";
        return (method.Name, parameter) switch
        {
            (".ctor", "capacity") => text ? 2 : 8,
            (".ctor", "count") when type == "string" => 2,
            ("EnsureCapacity", "capacity") => text ? 2 : 8,
            ("Range", "count") when type == "System.Linq.Enumerable" => 4,
            ("Repeat", "count") when type == "System.Linq.Enumerable" => 8,
            ("PadLeft" or "PadRight", "totalWidth") when type == "string" => 2,
            ("Append", "repeatCount") when type == "System.Text.StringBuilder" => 2,
            ("Insert", "count") when type == "System.Text.StringBuilder" => 2,
            ("Resize", "newSize") when type == "System.Array" => 8,
            _ => null,
        };
    }

    private static int ElementSize(ITypeSymbol type) => type.SpecialType switch
    {
        SpecialType.System_Boolean or SpecialType.System_Byte or SpecialType.System_SByte => 1,
        SpecialType.System_Char or SpecialType.System_Int16 or SpecialType.System_UInt16 => 2,
        SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Single => 4,
        SpecialType.System_Int64 or SpecialType.System_UInt64 or SpecialType.System_Double => 8,
        SpecialType.System_Decimal => 16,
        _ => type.IsReferenceType ? 8 : 16,
    };

    // ---- dynamic guard --------------------------------------------------------------------------------------

    private bool NeedsGuard(ExpressionSyntax expression)
    {
        if (expression is MemberBindingExpressionSyntax or ElementBindingExpressionSyntax or ParenthesizedExpressionSyntax { Parent: ParenthesizedExpressionSyntax }) return false;
        var info = model.GetTypeInfo(expression);
        if (info.Type is not IDynamicTypeSymbol) return false;
        var parent = expression.Parent;
        switch (parent)
        {
            case ParenthesizedExpressionSyntax: return false; // the outer parentheses are guarded instead
            case AssignmentExpressionSyntax a when a.Left == expression: return false;
            case PrefixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PreIncrementExpression) || p.IsKind(SyntaxKind.PreDecrementExpression): return false;
            case PostfixUnaryExpressionSyntax: return false;
            case ArgumentSyntax arg when !arg.RefKindKeyword.IsKind(SyntaxKind.None): return false;
            case RefExpressionSyntax: return false;
            case MemberAccessExpressionSyntax m: return m.Expression == expression;
            case ElementAccessExpressionSyntax e: return e.Expression == expression;
            // d.M(x) is one dynamic invocation (its receiver d is guarded); only a dynamic delegate value d(x) is guarded itself.
            case InvocationExpressionSyntax i: return i.Expression == expression && expression is not MemberAccessExpressionSyntax;
            case ConditionalAccessExpressionSyntax c: return c.Expression == expression;
            case CommonForEachStatementSyntax f: return f.Expression == expression;
            case AwaitExpressionSyntax: return true;
            case PrefixUnaryExpressionSyntax: return true;
            case BinaryExpressionSyntax b:
                return !(b.IsKind(SyntaxKind.CoalesceExpression) || b.IsKind(SyntaxKind.IsExpression) || b.IsKind(SyntaxKind.AsExpression));
            case CastExpressionSyntax: return true;
            case AssignmentExpressionSyntax a:
                return !(a.IsKind(SyntaxKind.SimpleAssignmentExpression) || a.IsKind(SyntaxKind.CoalesceAssignmentExpression));
        }
        // An implicit conversion to a static type (string s = d; if (d) …) binds operators of the runtime type.
        return info.ConvertedType is { } converted && converted is not IDynamicTypeSymbol && converted.SpecialType != SpecialType.System_Object;
    }

    private static ExpressionSyntax Guard(ExpressionSyntax value, ExpressionSyntax template)
    {
        var placeholder = template.DescendantNodes().OfType<IdentifierNameSyntax>().First(n => n.Identifier.ValueText == "__value");
        return template.ReplaceNode(placeholder, value.WithoutTrivia())
            .WithLeadingTrivia(value.GetLeadingTrivia()).WithTrailingTrivia(value.GetTrailingTrivia());
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    /// <summary>Code in classes the script declares, and in static lambdas/functions, cannot see the globals.</summary>
    private static string BudgetFor(SyntaxNode node) =>
        node.AncestorsAndSelf().Any(a => a is TypeDeclarationSyntax
            || (a is AnonymousFunctionExpressionSyntax f && f.Modifiers.Any(SyntaxKind.StaticKeyword))
            || (a is LocalFunctionStatementSyntax l && l.Modifiers.Any(SyntaxKind.StaticKeyword))
            || (a is BaseMethodDeclarationSyntax m && m.Modifiers.Any(SyntaxKind.StaticKeyword))
            || (a is BasePropertyDeclarationSyntax p && p.Modifiers.Any(SyntaxKind.StaticKeyword)))
            ? StaticBudget
            : InstanceBudget;

    private static StatementSyntax Tick(SyntaxNode node) => ParseStatement(BudgetFor(node) + ".Tick();");

    private static StatementSyntax Enter(SyntaxNode node) => ParseStatement(BudgetFor(node) + ".Enter();");

    private static ExpressionSyntax Count(SyntaxNode node, ExpressionSyntax size, int elementSize)
    {
        var call = ParseExpression($"{BudgetFor(node)}.Count((long)(__size), {elementSize})");
        var placeholder = call.DescendantNodes().OfType<IdentifierNameSyntax>().First(n => n.Identifier.ValueText == "__size");
        return call.ReplaceNode(placeholder, size.WithoutTrivia()).WithLeadingTrivia(size.GetLeadingTrivia()).WithTrailingTrivia(size.GetTrailingTrivia());
    }

    private static BlockSyntax InsertFirst(BlockSyntax block, StatementSyntax first) => block.WithStatements(block.Statements.Insert(0, first));

    /// <summary>Makes <paramref name="statement"/> a block starting with <paramref name="first"/>, on the statement's own line.</summary>
    private static BlockSyntax Prepend(StatementSyntax statement, StatementSyntax first)
    {
        if (statement is BlockSyntax block) return InsertFirst(block, first);
        return Block(
            Token(statement.GetLeadingTrivia(), SyntaxKind.OpenBraceToken, TriviaList(Space)),
            List([first.WithTrailingTrivia(Space), statement.WithoutLeadingTrivia().WithoutTrailingTrivia()]),
            Token(TriviaList(Space), SyntaxKind.CloseBraceToken, statement.GetTrailingTrivia()));
    }

    private static BlockSyntax FromArrow(ArrowExpressionClauseSyntax arrow, bool returnsValue, StatementSyntax enter, SyntaxToken semicolon) =>
        Block(
            Token(arrow.ArrowToken.LeadingTrivia, SyntaxKind.OpenBraceToken, arrow.ArrowToken.TrailingTrivia),
            List([enter.WithTrailingTrivia(Space), BodyStatement(arrow.Expression, returnsValue)]),
            Token(TriviaList(Space), SyntaxKind.CloseBraceToken, semicolon.IsKind(SyntaxKind.None) ? TriviaList() : semicolon.TrailingTrivia));

    private static BlockSyntax FromLambda(ExpressionSyntax body, bool returnsValue, StatementSyntax enter) =>
        Block(
            Token(TriviaList(), SyntaxKind.OpenBraceToken, TriviaList(Space)),
            List([enter.WithTrailingTrivia(Space), BodyStatement(body.WithoutTrailingTrivia(), returnsValue)]),
            Token(TriviaList(Space), SyntaxKind.CloseBraceToken, body.GetTrailingTrivia()));

    private static AccessorListSyntax GetterFrom(ArrowExpressionClauseSyntax arrow, StatementSyntax enter, SyntaxToken semicolon)
    {
        var body = Block(
            Token(TriviaList(), SyntaxKind.OpenBraceToken, TriviaList(Space)),
            List([enter.WithTrailingTrivia(Space), BodyStatement(arrow.Expression, true)]),
            Token(TriviaList(Space), SyntaxKind.CloseBraceToken, TriviaList(Space)));
        var getter = AccessorDeclaration(SyntaxKind.GetAccessorDeclaration, body)
            .WithKeyword(Token(TriviaList(), SyntaxKind.GetKeyword, TriviaList(Space)));
        return AccessorList(
            Token(arrow.ArrowToken.LeadingTrivia, SyntaxKind.OpenBraceToken, arrow.ArrowToken.TrailingTrivia.Add(Space)),
            SingletonList(getter),
            Token(TriviaList(), SyntaxKind.CloseBraceToken, semicolon.TrailingTrivia));
    }

    private static StatementSyntax BodyStatement(ExpressionSyntax expression, bool returnsValue)
    {
        var semicolon = Token(SyntaxKind.SemicolonToken);
        if (expression is ThrowExpressionSyntax t)
            return ThrowStatement(Token(TriviaList(), SyntaxKind.ThrowKeyword, TriviaList(Space)), t.Expression, semicolon);
        if (returnsValue)
            return ReturnStatement(Token(TriviaList(), SyntaxKind.ReturnKeyword, TriviaList(Space)), expression, semicolon);
        return ExpressionStatement(expression, semicolon);
    }

    private static bool ReturnsValue(IMethodSymbol? method)
    {
        if (method is null || method.ReturnsVoid) return false;
        if (method.IsAsync && method.ReturnType is INamedTypeSymbol { IsGenericType: false } t && t.Name is "Task" or "ValueTask") return false;
        return true;
    }
}
