namespace Ferry.Adaptors;

/// <summary>Declares an adaptor class: its name in <c>ferry.yaml</c> (also its global in step code) and what it is for.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class AdaptorAttribute(string name) : Attribute
{
    public string Name { get; } = name;

    public string Description { get; init; } = "";
}

public enum OperationKind
{
    /// <summary>Reads from the system: live in <c>run --test</c>, served from canned responses in <c>ferry test</c>.</summary>
    Read,

    /// <summary>Changes the system: recorded, never performed, in both test modes.</summary>
    Write,

    /// <summary>Neither (a pure helper): runs the same in every mode.</summary>
    Local,
}

/// <summary>Documents an adaptor operation; <c>ferry docs ADAPTOR OPERATION</c> prints it.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class OperationAttribute(OperationKind kind) : Attribute
{
    public OperationKind Kind { get; } = kind;

    public string Description { get; init; } = "";

    /// <summary>A short C# example for the docs.</summary>
    public string Example { get; init; } = "";
}

/// <summary>One field of the adaptor's credential (its configuration). Repeat the attribute for each field.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class CredentialFieldAttribute(string name) : Attribute
{
    public string Name { get; } = name;

    public string Description { get; init; } = "";

    public bool Required { get; init; }

    /// <summary>Secret values are encrypted at rest and scrubbed to <c>***</c> everywhere. Undeclared fields count as secret.</summary>
    public bool Secret { get; init; }

    /// <summary>"string" (default), "number", "boolean".</summary>
    public string Type { get; init; } = "string";

    public string Example { get; init; } = "";
}
