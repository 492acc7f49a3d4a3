using System.Diagnostics;

namespace Ferry.Tests.Cli;

public sealed record FerryResult(int ExitCode, string Stdout, string Stderr)
{
    public string All => Stdout + Stderr;
}

/// <summary>Runs the real `ferry` executable (built beside the tests) as a child process, as a user would.</summary>
public static class FerryProcess
{
    /// <summary>One step cache for the whole test run, so each compile happens once.</summary>
    private static readonly string Cache = Directory.CreateTempSubdirectory("ferry-test-cache").FullName;

    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The executable as built in src/Ferry (with its own dependencies), in the tests' configuration.</summary>
    public static string FerryDll { get; } = Path.Combine(RepositoryRoot, "src", "Ferry", "bin",
        AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug", "net10.0", "ferry.dll");

    public static async Task<FerryResult> RunAsync(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add(FerryDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["FERRY_CACHE_DIR"] = Cache;
        info.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"ferry {string.Join(' ', args)} did not finish in 2 minutes. stderr: {await stderr}");
        }
        return new FerryResult(process.ExitCode, await stdout, await stderr);
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ferry.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Ferry.slnx) above the test binaries.");
    }
}
