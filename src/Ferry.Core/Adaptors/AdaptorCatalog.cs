using System.Reflection;
using Ferry.Diagnostics;
using Ferry.Json;

namespace Ferry.Adaptors;

/// <summary>An adaptor's name, type, credential schema and operations, read from its attributes (the docs come from here too).</summary>
public sealed class AdaptorDescriptor
{
    internal AdaptorDescriptor(Type type, AdaptorAttribute attribute)
    {
        Type = type;
        Name = attribute.Name;
        Description = attribute.Description;
        CredentialFields = type.GetCustomAttributes<CredentialFieldAttribute>().ToArray();
        Operations = type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<OperationAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => new OperationDescriptor(x.Method, x.Attribute!))
            .ToArray();
        _credentialCheck = type.GetMethod("CheckCredential", BindingFlags.Public | BindingFlags.Static, [typeof(JsObject)]);
        if (_credentialCheck is not null && !typeof(IEnumerable<string>).IsAssignableFrom(_credentialCheck.ReturnType))
            throw new InvalidOperationException($"Adaptor {type.Name}: CheckCredential must return IEnumerable<string>.");
        _factory = type.GetConstructor([typeof(AdaptorContext)])
            ?? throw new InvalidOperationException($"Adaptor {type.Name} needs a public constructor taking an AdaptorContext.");
    }

    private readonly ConstructorInfo _factory;

    /// <summary>
    /// Optional <c>public static IEnumerable&lt;string&gt; CheckCredential(JsObject values)</c> on the adaptor, for rules the
    /// field attributes cannot say (e.g. "connectionString, or host and database").
    /// </summary>
    private readonly MethodInfo? _credentialCheck;

    public string Name { get; }

    public Type Type { get; }

    public string Description { get; }

    public IReadOnlyList<CredentialFieldAttribute> CredentialFields { get; }

    public IReadOnlyList<OperationDescriptor> Operations { get; }

    /// <summary>Credential fields that are not secret (everything else is scrubbed).</summary>
    public IReadOnlySet<string> PublicCredentialFields => CredentialFields.Where(f => !f.Secret).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>Creates an instance; an exception from the adaptor's constructor (e.g. a bad credential) is rethrown as is.</summary>
    public Adaptor Create(AdaptorContext context)
    {
        try
        {
            return (Adaptor)_factory.Invoke([context]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    /// <summary>Checks a credential's values against the schema: missing required fields and wrong types.</summary>
    public IReadOnlyList<Diagnostic> ValidateCredential(string credentialName, JsObject? values, string source)
    {
        var problems = new List<Diagnostic>();
        var location = new SourceLocation(source, 0, 0);
        if (values is null)
        {
            problems.Add(new Diagnostic("FERRY301", $"Credential '{credentialName}' (adaptor {Name}) has no values in {source}.", location,
                $"Add \"{credentialName}\": {{ {string.Join(", ", CredentialFields.Where(f => f.Required).Select(f => $"\"{f.Name}\": …"))} }}."));
            return problems;
        }
        foreach (var field in CredentialFields)
        {
            var value = values[field.Name];
            if (value is null)
            {
                if (field.Required)
                    problems.Add(new Diagnostic("FERRY302", $"Credential '{credentialName}' is missing the required field '{field.Name}' ({field.Description}).",
                        location, $"Add \"{field.Name}\" to \"{credentialName}\" in {source}{(field.Example.Length > 0 ? $", e.g. \"{field.Example}\"" : "")}."));
                continue;
            }
            var ok = field.Type switch
            {
                "number" => value is int or long or double or decimal || (value is string s && double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out _)),
                "boolean" => value is bool,
                _ => value is string || value is int or long,
            };
            if (!ok)
                problems.Add(new Diagnostic("FERRY303", $"Credential '{credentialName}' field '{field.Name}' must be a {field.Type}, found {Js.ToJson(value)}.", location));
        }
        if (problems.Count == 0 && _credentialCheck is not null)
        {
            foreach (var message in (IEnumerable<string>)_credentialCheck.Invoke(null, [values])!)
                problems.Add(new Diagnostic("FERRY304", $"Credential '{credentialName}': {message}", location, $"Fix \"{credentialName}\" in {source} (ferry docs {Name} lists its fields)."));
        }
        return problems;
    }
}

public sealed record OperationDescriptor(MethodInfo Method, OperationAttribute Attribute)
{
    public string Name => char.ToLowerInvariant(Method.Name[0]) + Method.Name[1..];
}

/// <summary>All adaptors Ferry knows, found by their <see cref="AdaptorAttribute"/> in the given assemblies.</summary>
public sealed class AdaptorCatalog
{
    private readonly Dictionary<string, AdaptorDescriptor> _byName;

    /// <summary>Every adaptor class in the assemblies (plugins, tests).</summary>
    public AdaptorCatalog(IEnumerable<Assembly> assemblies) : this(assemblies.SelectMany(a => a.GetTypes()))
    {
    }

    /// <summary>The given adaptor classes (types without <see cref="AdaptorAttribute"/> are skipped).</summary>
    public AdaptorCatalog(IEnumerable<Type> types)
    {
        _byName = new Dictionary<string, AdaptorDescriptor>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            var attribute = type.GetCustomAttribute<AdaptorAttribute>();
            if (attribute is null || !typeof(Adaptor).IsAssignableFrom(type) || type.IsAbstract) continue;
            _byName[attribute.Name] = new AdaptorDescriptor(type, attribute);
        }
    }

    public IReadOnlyCollection<AdaptorDescriptor> All => _byName.Values;

    public IEnumerable<string> Names => _byName.Keys;

    public bool TryGet(string name, out AdaptorDescriptor descriptor) => _byName.TryGetValue(name, out descriptor!);
}
