using Ferry.Steps;

namespace Ferry.Adaptors;

/// <summary>
/// A failed adaptor operation: what was attempted, against what, what the system answered and what to do next.
/// The message is already scrubbed of credential values. Step code may catch it (or a subclass such as
/// <c>HttpAdaptorException</c>) to handle a failure; the engine reports its message without a stack trace.
/// </summary>
[StepApi]
public class AdaptorException : Exception
{
    public AdaptorException(string adaptor, string operation, string message, Exception? inner = null)
        : base(message, inner)
    {
        Adaptor = adaptor;
        Operation = operation;
    }

    public AdaptorException() : this("", "", "The adaptor operation failed.") { }

    public AdaptorException(string message) : this("", "", message) { }

    public AdaptorException(string message, Exception inner) : this("", "", message, inner) { }

    /// <summary>The adaptor's name (<c>http</c>, <c>postgres</c>…).</summary>
    public string Adaptor { get; }

    /// <summary>The operation as step code calls it (<c>get</c>, <c>upsertMany</c>…).</summary>
    public string Operation { get; }
}
