using System.Collections.Concurrent;

namespace Ferry.Server.Auth;

/// <summary>
/// Slows password guessing: after <see cref="FreeFailures"/> failed sign-ins for one username from one address within
/// <see cref="Window"/>, further attempts from there are refused (429 with Retry-After) for a pause that doubles with
/// every further failure, from 30 s up to 15 minutes. A success clears the count. Kept in memory per process: a
/// restart forgets it, and several processes behind one load balancer each count on their own.
/// </summary>
public sealed class LoginThrottle(TimeProvider clock)
{
    public const int FreeFailures = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan FirstPause = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LongestPause = TimeSpan.FromMinutes(15);
    private const int MaxTracked = 10_000;

    private readonly ConcurrentDictionary<(string User, string Address), (int Failures, DateTimeOffset Last)> _failures = new();

    /// <summary>How long this username from this address must wait before trying again; null when it may try now.</summary>
    public TimeSpan? RetryAfter(string username, string address)
    {
        if (!_failures.TryGetValue(Key(username, address), out var entry) || entry.Failures < FreeFailures) return null;
        var until = entry.Last + Pause(entry.Failures);
        var now = clock.GetUtcNow();
        return until > now ? until - now : null;
    }

    public void Failed(string username, string address)
    {
        var now = clock.GetUtcNow();
        if (_failures.Count >= MaxTracked) Forget(now);
        _failures.AddOrUpdate(Key(username, address), (1, now),
            (_, entry) => (now - entry.Last > Window ? 1 : entry.Failures + 1, now));
    }

    public void Succeeded(string username, string address) => _failures.TryRemove(Key(username, address), out _);

    private static TimeSpan Pause(int failures)
    {
        var doublings = Math.Min(failures - FreeFailures, 10);
        var pause = FirstPause * Math.Pow(2, doublings);
        return pause < LongestPause ? pause : LongestPause;
    }

    private void Forget(DateTimeOffset now)
    {
        foreach (var (key, entry) in _failures)
        {
            if (now - entry.Last > Window) _failures.TryRemove(key, out _);
        }
    }

    private static (string, string) Key(string username, string address) => (username.ToLowerInvariant(), address);
}
