using System.Runtime.InteropServices;

namespace Ferry.Server.Projects;

/// <summary>
/// Every <see cref="ServerOptions.VersionSweepInterval"/> (30 s), lets go of compiled versions idle for <see cref="DeployedProjects.IdleVersionLifetime"/>
/// (the only place that does, so that a server nothing runs on lets go too), and when versions were let go of, gives
/// their memory back to the system: garbage collections that unload the steps' load contexts
/// (each unloads in stages: a collection finds its last holder gone, a finalizer starts the unload, later collections
/// free the loader's memory), then, on Linux with glibc, <c>malloc_trim</c>, which returns the freed native heap.
/// </summary>
/// <remarks>
/// Without this, resident memory grew with every deploy and did not come back while the server was idle: 93 MB at start,
/// 153.6 MB after 100 deploys that each changed one step, 167.6 MB after 200 and 150 s of idle (docs/benchmarks.md). The
/// collections are induced only after versions were let go of (after deploys or retries of old versions, not while
/// webhooks flow), and the managed heap of a server is small (a few MB), so each takes milliseconds.
/// </remarks>
public sealed partial class IdleVersionSweeper(DeployedProjects projects, ServerOptions options, ILogger<IdleVersionSweeper> logger) : BackgroundService
{
    /// <summary>Collections induced after versions were let go of: enough for a load context to unload completely.</summary>
    private const int Collections = 3;

    private static bool _trimUnavailable;

    /// <summary>Times memory was given back (for tests).</summary>
    public int Reclaims => Volatile.Read(ref _reclaims);

    private int _reclaims;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A real timer (tests shorten the interval); how long a version has been idle is measured on options.Clock.
        using var timer = new PeriodicTimer(options.VersionSweepInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var letGo = projects.SweepIdleVersions();
                    if (letGo == 0) continue;
                    var before = Environment.WorkingSet;
                    Reclaim();
                    Interlocked.Increment(ref _reclaims);
                    LogReclaimed(logger, letGo, before / (1024 * 1024), Environment.WorkingSet / (1024 * 1024));
                }
                catch (Exception e)
                {
                    // Giving memory back is never worth stopping the server for: the next tick tries again.
                    LogFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Unloads what nothing holds any more and returns freed memory to the system.</summary>
    internal static void Reclaim()
    {
        for (var i = 0; i < Collections; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        TrimNativeHeap();
    }

    /// <summary>glibc keeps memory freed by native code (the runtime's loader and JIT among it) for reuse;
    /// <c>malloc_trim(0)</c> returns what it can. Elsewhere (Windows, macOS, musl) there is nothing to call: false.</summary>
    internal static bool TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux() || Volatile.Read(ref _trimUnavailable)) return false;
        try
        {
            _ = MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Volatile.Write(ref _trimUnavailable, true);
            return false;
        }
    }

    // DllImport rather than LibraryImport, which needs unsafe code in the project: nothing here needs marshalling.
    [DllImport("libc", EntryPoint = "malloc_trim")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallocTrim(nuint pad);

    [LoggerMessage(Level = LogLevel.Information, Message = "Let go of {Versions} compiled version(s) not run for a while; resident memory {Before} MB -> {After} MB")]
    private static partial void LogReclaimed(ILogger logger, int versions, long before, long after);

    [LoggerMessage(Level = LogLevel.Error, Message = "Letting go of idle compiled versions failed; the sweeper tries again at its next tick")]
    private static partial void LogFailed(ILogger logger, Exception e);
}
