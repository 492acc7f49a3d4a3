namespace Ferry.Cli;

/// <summary>Exit codes shared by every verb (DESIGN §6).</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The run (or a flow test) did not succeed.</summary>
    public const int RunFailed = 1;

    /// <summary>Invalid input: spec, code, state, credentials, arguments.</summary>
    public const int InvalidInput = 2;
}
