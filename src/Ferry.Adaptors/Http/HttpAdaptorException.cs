using Ferry.Steps;

namespace Ferry.Adaptors.Http;

/// <summary>
/// An HTTP call failed: the server answered with an error status (after any retries), the call timed out, or
/// the server could not be reached. The message names the method, the URL (credential values scrubbed), the
/// status, the number of attempts and up to 500 characters of the response body.
/// </summary>
[StepApi]
public sealed class HttpAdaptorException : AdaptorException
{
    internal HttpAdaptorException(string adaptor, string operation, string message, string method, string url, int? status,
        string bodyExcerpt, int attempts, Exception? inner = null)
        : base(adaptor, operation, message, inner)
    {
        Method = method;
        Url = url;
        Status = status;
        BodyExcerpt = bodyExcerpt;
        Attempts = attempts;
    }

    public HttpAdaptorException() : this("The HTTP call failed.") { }

    public HttpAdaptorException(string message) : base("http", "", message)
    {
        Method = "";
        Url = "";
        BodyExcerpt = "";
    }

    public HttpAdaptorException(string message, Exception inner) : base("http", "", message, inner)
    {
        Method = "";
        Url = "";
        BodyExcerpt = "";
    }

    /// <summary>GET, POST…</summary>
    public string Method { get; }

    /// <summary>The URL called, with credential values replaced by <c>***</c>.</summary>
    public string Url { get; }

    /// <summary>The HTTP status of the last answer, or null when there was none (timeout, unreachable server).</summary>
    public int? Status { get; }

    /// <summary>The start of the last response body (at most 500 characters, scrubbed).</summary>
    public string BodyExcerpt { get; }

    /// <summary>How many times the request was sent.</summary>
    public int Attempts { get; }
}
