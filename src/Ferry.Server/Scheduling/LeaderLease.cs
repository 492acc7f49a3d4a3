using Ferry.Storage;

namespace Ferry.Server.Scheduling;

/// <summary>
/// Which `ferry serve` on a database is the leader: the one holding the store's <c>leader</c> lease. Only the leader
/// runs cron ticks and retention, so many processes on one PostgreSQL do each once. The lease is renewed when a third of
/// it has passed; a leader that stops renewing (crash) is replaced when it runs out.
/// </summary>
public sealed partial class LeaderLease(FerryStore store, ServerOptions options, ILogger<LeaderLease> logger) : IAsyncDisposable
{
    public const string Name = "leader";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _validUntil; // Environment.TickCount64 until which the last renewal is trusted
    private bool _wasLeader;

    /// <summary>This process's holder id in the <c>leases</c> table.</summary>
    public string Holder { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>True while this process holds the lease (taken or renewed here when due); false on a store failure.</summary>
    public async Task<bool> IsLeaderAsync(CancellationToken ct)
    {
        if (Environment.TickCount64 < Volatile.Read(ref _validUntil)) return true;
        await _gate.WaitAsync(ct);
        try
        {
            if (Environment.TickCount64 < _validUntil) return true;
            bool leader;
            try
            {
                leader = await store.TryAcquireLeaseAsync(Name, Holder, options.LeaderLease, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogLeaseFailed(logger, e);
                leader = false;
            }
            Volatile.Write(ref _validUntil, leader ? Environment.TickCount64 + (long)(options.LeaderLease.TotalMilliseconds / 3) : 0);
            if (leader != _wasLeader) LogLeadership(logger, Holder, leader ? "is now the leader (cron triggers, retention)" : "is no longer the leader");
            _wasLeader = leader;
            return leader;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Gives the lease up (clean shutdown), so another process takes over without waiting for it to run out.</summary>
    public async ValueTask DisposeAsync()
    {
        _gate.Dispose();
        if (!_wasLeader) return;
        _wasLeader = false;
        Volatile.Write(ref _validUntil, 0);
        try
        {
            await store.ReleaseLeaseAsync(Name, Holder, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogLeaseFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Holder} {What}")]
    private static partial void LogLeadership(ILogger logger, string holder, string what);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The leader lease could not be taken or renewed; cron triggers and retention wait until it can")]
    private static partial void LogLeaseFailed(ILogger logger, Exception e);
}
