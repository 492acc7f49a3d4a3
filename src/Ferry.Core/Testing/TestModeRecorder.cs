using Ferry.Json;

namespace Ferry.Testing;

/// <summary>A canned adaptor response from a flow test: served when adaptor, operation, step and request match.</summary>
/// <param name="Match">A JSON subset the request must contain (null matches any request).</param>
public sealed record CannedResponse(string Adaptor, string? Operation, string? Step, object? Match, object? Response);

/// <summary>An adaptor call seen in a test-mode run (a write that was not performed, or a read that was served).</summary>
public sealed record RecordedCall(string Step, string Adaptor, string Operation, object? Request);

/// <summary>
/// Test mode's memory: serves canned reads and records the writes adaptors would have made.
/// Canned responses are tried in the order written; the first match wins, so list specific ones first.
/// </summary>
public sealed class TestModeRecorder(IEnumerable<CannedResponse>? canned = null)
{
    private readonly CannedResponse[] _canned = canned?.ToArray() ?? [];
    private readonly List<RecordedCall> _writes = [];
    private readonly List<RecordedCall> _reads = [];
    private readonly Lock _gate = new();

    public IReadOnlyList<RecordedCall> Writes
    {
        get { lock (_gate) return _writes.ToArray(); }
    }

    public IReadOnlyList<RecordedCall> Reads
    {
        get { lock (_gate) return _reads.ToArray(); }
    }

    public bool TryServeRead(string adaptor, string step, string operation, object? request, out object? response)
    {
        lock (_gate) _reads.Add(new RecordedCall(step, adaptor, operation, request));
        return TryFind(adaptor, step, operation, request, out response);
    }

    /// <summary>Records a write; returns true with a canned response when the test gives one for it.</summary>
    public bool RecordWrite(string adaptor, string step, string operation, object? request, out object? response)
    {
        lock (_gate) _writes.Add(new RecordedCall(step, adaptor, operation, request));
        return TryFind(adaptor, step, operation, request, out response);
    }

    private bool TryFind(string adaptor, string step, string operation, object? request, out object? response)
    {
        foreach (var c in _canned)
        {
            if (!string.Equals(c.Adaptor, adaptor, StringComparison.Ordinal)) continue;
            if (c.Operation is not null && !string.Equals(c.Operation, operation, StringComparison.OrdinalIgnoreCase)) continue;
            if (c.Step is not null && !string.Equals(c.Step, step, StringComparison.Ordinal)) continue;
            if (c.Match is not null && Js.FindSubsetMismatch(c.Match, request) is not null) continue;
            response = Js.Clone(c.Response);
            return true;
        }
        response = null;
        return false;
    }
}

/// <summary>A test-mode read had no canned response; the message shows the YAML to add.</summary>
public sealed class CannedResponseMissingException : Exception
{
    public CannedResponseMissingException(string adaptor, string step, string operation, object? request)
        : base($"Test mode: no canned response for {adaptor}.{operation} in step '{step}' (request {Js.ToJson(request)}). " +
               $"Add one to the flow test under 'reads:':  - {{ adaptor: {adaptor}, operation: {operation}, match: {Js.ToJson(request)}, response: … }}")
    {
    }

    public CannedResponseMissingException() { }

    public CannedResponseMissingException(string message) : base(message) { }

    public CannedResponseMissingException(string message, Exception inner) : base(message, inner) { }
}
