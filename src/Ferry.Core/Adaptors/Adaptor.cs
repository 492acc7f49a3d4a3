using Ferry.Json;
using Ferry.Testing;

namespace Ferry.Adaptors;

/// <summary>
/// Base of every adaptor. An adaptor is a class with <see cref="AdaptorAttribute"/>, a constructor taking an
/// <see cref="AdaptorContext"/>, <see cref="CredentialFieldAttribute"/>s describing its credential, and public
/// async operations marked with <see cref="OperationAttribute"/> that return JSON state values
/// (<c>Task&lt;dynamic?&gt;</c>). Operations go through <see cref="ReadAsync"/>/<see cref="WriteAsync"/> so
/// test mode works without any code in the adaptor.
/// </summary>
public abstract class Adaptor
{
    protected Adaptor(AdaptorContext context) => Context = context;

    protected AdaptorContext Context { get; }

    /// <summary>Runs a read: live, or served from a canned response in <see cref="ExecutionMode.Test"/>.</summary>
    /// <param name="operation">The operation name as users write it in flow tests (e.g. "get", "query").</param>
    /// <param name="request">What is read (path, query, SQL…); converted to JSON for matching and reporting.</param>
    protected async Task<object?> ReadAsync(string operation, object? request, Func<CancellationToken, Task<object?>> live)
    {
        if (Context.Mode == ExecutionMode.Test)
        {
            var recorder = Context.Recorder ?? throw new InvalidOperationException("Test mode needs a recorder.");
            var req = Js.From(request);
            if (recorder.TryServeRead(Context.AdaptorName, Context.StepId, operation, req, out var canned)) return canned;
            throw new CannedResponseMissingException(Context.AdaptorName, Context.StepId, operation, req);
        }
        return await live(Context.CancellationToken);
    }

    /// <summary>
    /// Runs a write: live, or recorded and not performed in <see cref="ExecutionMode.DryRun"/> and
    /// <see cref="ExecutionMode.Test"/>. The result in test modes is a canned response for this write if the flow
    /// test has one, else <paramref name="simulate"/>'s value, else null.
    /// </summary>
    protected async Task<object?> WriteAsync(string operation, object? request, Func<CancellationToken, Task<object?>> live, Func<object?>? simulate = null)
    {
        if (Context.Mode == ExecutionMode.Live) return await live(Context.CancellationToken);
        var recorder = Context.Recorder ?? throw new InvalidOperationException("Test mode needs a recorder.");
        var req = Js.From(request);
        var response = recorder.RecordWrite(Context.AdaptorName, Context.StepId, operation, req, out var canned)
            ? canned
            : Js.From(simulate?.Invoke());
        Context.Log.Info($"[{Context.Mode.ToString().ToLowerInvariant()}] {Context.AdaptorName}.{operation} not performed: {Summarize(req)}");
        return response;
    }

    private string Summarize(object? request)
    {
        var json = Context.Scrubber.Scrub(Js.ToJson(request));
        return json.Length > 300 ? json[..297] + "..." : json;
    }
}
