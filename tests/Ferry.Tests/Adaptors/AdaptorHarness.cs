using Ferry.Adaptors;
using Ferry.Json;
using Ferry.Steps;
using Ferry.Testing;

namespace Ferry.Tests.Adaptors;

/// <summary>Builds adaptor contexts the way the engine does: a run log, a scrubber loaded with the credential, a mode.</summary>
internal sealed class AdaptorHarness
{
    public AdaptorHarness(string adaptor, object credential, ExecutionMode mode = ExecutionMode.Live, TestModeRecorder? recorder = null, bool scrubCredential = true)
    {
        Credential = (JsObject)Js.From(credential)!;
        var scrubber = new SecretScrubber();
        // As the engine does: every credential value except the fields the adaptor declares as not secret.
        if (scrubCredential) scrubber.AddCredential(Credential, Catalog.TryGet(adaptor, out var d) ? d.PublicCredentialFields : null);
        Log = new RunLog(scrubber);
        Recorder = recorder ?? (mode == ExecutionMode.Live ? null : new TestModeRecorder());
        Context = new AdaptorContext
        {
            StepId = "s",
            AdaptorName = adaptor,
            Configuration = Credential,
            Log = Log.ForStep("s"),
            Mode = mode,
            Recorder = Recorder,
            Scrubber = scrubber,
        };
    }

    private static readonly AdaptorCatalog Catalog = new([typeof(Ferry.Adaptors.Http.HttpAdaptor).Assembly]);

    public JsObject Credential { get; }

    public RunLog Log { get; }

    public TestModeRecorder? Recorder { get; }

    public AdaptorContext Context { get; }
}
