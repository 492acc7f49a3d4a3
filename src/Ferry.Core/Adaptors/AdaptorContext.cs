using Ferry.Json;
using Ferry.Steps;
using Ferry.Testing;

namespace Ferry.Adaptors;

/// <summary>Everything an adaptor instance needs for one step run. Built by the engine.</summary>
public sealed class AdaptorContext
{
    public required string StepId { get; init; }

    public required string AdaptorName { get; init; }

    /// <summary>The step's credential values (empty when the step has none). Never stored or logged.</summary>
    public JsObject Configuration { get; init; } = new();

    public ExecutionMode Mode { get; init; } = ExecutionMode.Live;

    /// <summary>Records writes and serves canned reads when <see cref="Mode"/> is not Live.</summary>
    public TestModeRecorder? Recorder { get; init; }

    public required StepLog Log { get; init; }

    public SecretScrubber Scrubber { get; init; } = SecretScrubber.None;

    /// <summary>Shared HTTP client for the process (connection pooling); adaptors must not dispose it.</summary>
    public HttpClient Http { get; init; } = SharedHttp.Client;

    public CancellationToken CancellationToken { get; init; }
}

/// <summary>One pooled HTTP client per process, with no overall timeout (adaptors set per-request timeouts).</summary>
public static class SharedHttp
{
    public static HttpClient Client { get; } = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = System.Net.DecompressionMethods.All,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
}
