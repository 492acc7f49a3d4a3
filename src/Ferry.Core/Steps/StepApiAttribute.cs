namespace Ferry.Steps;

/// <summary>
/// Marks a Ferry type that step code may use. The sandbox allows a Ferry type only when it carries
/// this attribute, so adaptors and the standard library opt in explicitly, member types included.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Enum, Inherited = false)]
public sealed class StepApiAttribute : Attribute;
