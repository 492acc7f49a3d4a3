using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text;
using Ferry.Adaptors;
using Ferry.Diagnostics;

namespace Ferry.Cli;

/// <summary><c>ferry docs [ADAPTOR [OPERATION]]</c>: the adaptor reference, read from the adaptors' code.</summary>
internal static class DocsCommand
{
    public static Command Build()
    {
        var adaptor = new Argument<string?>("adaptor") { Description = "Adaptor name (omit to list all).", Arity = ArgumentArity.ZeroOrOne };
        var operation = new Argument<string?>("operation") { Description = "Operation name (omit to list all).", Arity = ArgumentArity.ZeroOrOne };
        var markdown = new Option<bool>("--markdown") { Description = "Print the whole reference as Markdown (for docs/)." };
        var command = new Command("docs", "Show the adaptor reference: credentials, operations, examples.") { adaptor, operation, markdown };
        command.SetAction((parse, _) =>
        {
            var o = new Output(json: false);
            return FerryCommand.Guard(o, () => Task.FromResult(Execute(parse.GetValue(adaptor), parse.GetValue(operation), parse.GetValue(markdown))));
        });
        return command;
    }

    private static int Execute(string? adaptorName, string? operationName, bool markdown)
    {
        var catalog = BuiltInAdaptors.Catalog;
        if (markdown)
        {
            Output.Stdout(Markdown(catalog));
            return ExitCodes.Success;
        }
        if (adaptorName is null)
        {
            Output.Stdout("Adaptors (ferry docs ADAPTOR for details):");
            foreach (var a in catalog.All.OrderBy(a => a.Name, StringComparer.Ordinal))
                Output.Stdout($"  {a.Name,-12} {a.Description} ({a.Operations.Count} operations)");
            return ExitCodes.Success;
        }
        if (!catalog.TryGet(adaptorName, out var adaptor))
            throw new FerryInputException("FERRY040", $"Unknown adaptor '{adaptorName}'.", null,
                $"{Suggestions.DidYouMean(adaptorName, catalog.Names)} Known adaptors: {string.Join(", ", catalog.Names.Order(StringComparer.Ordinal))}.".Trim());
        if (operationName is null)
        {
            Output.Stdout(Describe(adaptor));
            return ExitCodes.Success;
        }
        var op = adaptor.Operations.FirstOrDefault(o => string.Equals(o.Name, operationName, StringComparison.OrdinalIgnoreCase));
        if (op is null)
            throw new FerryInputException("FERRY041", $"Adaptor '{adaptor.Name}' has no operation '{operationName}'.", null,
                $"{Suggestions.DidYouMean(operationName, adaptor.Operations.Select(o => o.Name))} Operations: {string.Join(", ", adaptor.Operations.Select(o => o.Name).Distinct())}.".Trim());
        foreach (var overload in adaptor.Operations.Where(o => o.Name == op.Name)) Output.Stdout(DescribeOperation(adaptor, overload));
        return ExitCodes.Success;
    }

    private static string Describe(AdaptorDescriptor adaptor)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{adaptor.Name}: {adaptor.Description}");
        text.AppendLine();
        text.AppendLine("Credential fields:");
        foreach (var f in adaptor.CredentialFields)
            text.AppendLine(CultureInfo.InvariantCulture, $"  {f.Name,-18} {f.Type,-8} {(f.Required ? "required" : "optional"),-9}{(f.Secret ? " secret " : "        ")} {f.Description}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Operations (in step code: await {adaptor.Name}.Operation(…); ferry docs {adaptor.Name} OPERATION for details):");
        foreach (var op in adaptor.Operations)
            text.AppendLine(CultureInfo.InvariantCulture, $"  {Signature(op.Method)}\n      {op.Attribute.Kind.ToString().ToLowerInvariant()}: {op.Attribute.Description}");
        return text.ToString().TrimEnd();
    }

    private static string DescribeOperation(AdaptorDescriptor adaptor, OperationDescriptor op)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{adaptor.Name}.{Signature(op.Method)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {op.Attribute.Kind.ToString().ToLowerInvariant()} operation: {DescribeKind(op.Attribute.Kind)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {op.Attribute.Description}");
        if (op.Attribute.Example.Length > 0)
        {
            text.AppendLine("  Example:");
            foreach (var line in op.Attribute.Example.Split('\n')) text.AppendLine(CultureInfo.InvariantCulture, $"    {line}");
        }
        return text.ToString().TrimEnd();
    }

    private static string DescribeKind(OperationKind kind) => kind switch
    {
        OperationKind.Read => "live in `run --test`, served from canned responses in `ferry test`",
        OperationKind.Write => "recorded and not performed in both test modes",
        _ => "runs the same in every mode",
    };

    private static string Markdown(AdaptorCatalog catalog)
    {
        var md = new StringBuilder();
        md.AppendLine("# Adaptor reference");
        md.AppendLine();
        md.AppendLine("Generated from the adaptors' code by `ferry docs --markdown`; do not edit by hand.");
        foreach (var a in catalog.All.OrderBy(a => a.Name, StringComparer.Ordinal))
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"## {a.Name}");
            md.AppendLine();
            md.AppendLine(a.Description);
            md.AppendLine();
            md.AppendLine("| credential field | type | required | secret | description |");
            md.AppendLine("|---|---|---|---|---|");
            foreach (var f in a.CredentialFields)
                md.AppendLine(CultureInfo.InvariantCulture, $"| `{f.Name}` | {f.Type} | {(f.Required ? "yes" : "no")} | {(f.Secret ? "yes" : "no")} | {f.Description} |");
            foreach (var op in a.Operations)
            {
                md.AppendLine();
                md.AppendLine(CultureInfo.InvariantCulture, $"### `{a.Name}.{Signature(op.Method)}`");
                md.AppendLine();
                md.AppendLine(CultureInfo.InvariantCulture, $"*{op.Attribute.Kind.ToString().ToLowerInvariant()}*: {op.Attribute.Description}");
                if (op.Attribute.Example.Length > 0)
                {
                    md.AppendLine();
                    md.AppendLine("```csharp");
                    md.AppendLine(op.Attribute.Example);
                    md.AppendLine("```");
                }
            }
        }
        return md.ToString().TrimEnd();
    }

    private static string Signature(MethodInfo method)
    {
        var parameters = method.GetParameters().Select(p =>
        {
            var text = $"{TypeName(p.ParameterType, p)} {p.Name}";
            if (p.HasDefaultValue) text += $" = {(p.DefaultValue is null ? "null" : p.DefaultValue is string s ? $"\"{s}\"" : p.DefaultValue is bool b ? (b ? "true" : "false") : p.DefaultValue)}";
            return text;
        });
        return $"{method.Name}({string.Join(", ", parameters)}) → {TypeName(method.ReturnType, null)}";
    }

    private static string TypeName(Type type, ParameterInfo? parameter)
    {
        if (type == typeof(Task<object>) || type == typeof(Task<object?>)) return "Task<dynamic>";
        if (type.IsGenericType)
        {
            var name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
            if (name == "Nullable") return TypeName(type.GetGenericArguments()[0], null) + "?";
            return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(t => TypeName(t, null)))}>";
        }
        var simple = type == typeof(string) ? "string" : type == typeof(object) ? "object" : type == typeof(int) ? "int" : type == typeof(bool) ? "bool" : type == typeof(long) ? "long" : type == typeof(double) ? "double" : type.Name;
        if (parameter is not null && !type.IsValueType && new NullabilityInfoContext().Create(parameter).WriteState == NullabilityState.Nullable) simple += "?";
        return simple;
    }
}
