namespace Ferry.Adaptors;

/// <summary>How adaptors treat the outside world during a run (DESIGN §5).</summary>
public enum ExecutionMode
{
    /// <summary>Production: reads and writes are performed.</summary>
    Live,

    /// <summary><c>ferry run --test</c> and server dry runs: reads are live, writes are recorded and not performed.</summary>
    DryRun,

    /// <summary><c>ferry test</c>: reads come from the flow test's canned responses, writes are recorded.</summary>
    Test,
}
