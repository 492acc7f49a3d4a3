using System.Collections.Concurrent;

namespace Ferry.Server.Auth;

/// <summary>
/// Slows password guessing, on two counts: after <see cref="FreeFailures"/> failed sign-ins for one username from one
/// address within <see cref="Window"/>, further attempts from there are refused (429 with Retry-After); after
/// <see cref="FreeFailuresPerUser"/> for one username from any addresses, attempts from everywhere are, so guesses
/// spread over many addresses are slowed too. The pause doubles with every further failure, from 30 s up to 15 minutes.
/// A success clears both counts, and a server admin can lift every pause of a username (<see cref="Lift"/>). Kept in
/// memory per process: a restart forgets it, and several processes behind one load balancer each count on their own.
/// </summary>
public sealed class LoginThrottle(TimeProvider clock)
{
    public const int FreeFailures = 5;

    /// <summary>Failures for one username, from all addresses together, before every address is paused.</summary>
    public const int FreeFailuresPerUser = 20;

    private const string AnyAddress = ""; // the per-user count's key: no real address is empty

    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan FirstPause = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LongestPause = TimeSpan.FromMinutes(15);
    private const int MaxTracked = 10_000;

    private readonly ConcurrentDictionary<(string User, string Address), (int Failures, DateTimeOffset Last)> _failures = new();

    /// <summary>How long this username from this address must wait before trying again; null when it may try now.</summary>
    public TimeSpan? RetryAfter(string username, string address)
    {
        var now = clock.GetUtcNow();
        var wait = Wait(Key(username, address), FreeFailures, now);
        var everywhere = Wait(Key(username, AnyAddress), FreeFailuresPerUser, now);
        return wait is null || everywhere > wait ? everywhere : wait;
    }

    public void Failed(string username, string address)
    {
        var now = clock.GetUtcNow();
        if (_failures.Count >= MaxTracked) Forget(now);
        Count(Key(username, address), now);
        Count(Key(username, AnyAddress), now);
    }

    public void Succeeded(string username, string address)
    {
        _failures.TryRemove(Key(username, address), out _);
        _failures.TryRemove(Key(username, AnyAddress), out _);
    }

    /// <summary>The longest pause <paramref name="username"/> is under now, from any address (the pause everywhere
    /// included); null when none is.</summary>
    public TimeSpan? PausedFor(string username)
    {
        var now = clock.GetUtcNow();
        var user = username.ToLowerInvariant();
        TimeSpan? longest = null;
        foreach (var (key, _) in _failures)
        {
            if (key.User != user) continue;
            if (Wait(key, key.Address == AnyAddress ? FreeFailuresPerUser : FreeFailures, now) is { } wait && (longest is null || wait > longest))
                longest = wait;
        }
        return longest;
    }

    /// <summary>Forgets every failure counted for <paramref name="username"/>, from every address: sign-in for it is
    /// open again at once. Returns the longest pause it was under (null when none).</summary>
    public TimeSpan? Lift(string username)
    {
        var paused = PausedFor(username);
        var user = username.ToLowerInvariant();
        foreach (var (key, _) in _failures)
        {
            if (key.User == user) _failures.TryRemove(key, out _);
        }
        return paused;
    }

    private TimeSpan? Wait((string User, string Address) key, int free, DateTimeOffset now)
    {
        if (!_failures.TryGetValue(key, out var entry) || entry.Failures < free) return null;
        var until = entry.Last + Pause(entry.Failures - free);
        return until > now ? until - now : null;
    }

    private void Count((string User, string Address) key, DateTimeOffset now) =>
        _failures.AddOrUpdate(key, (1, now), (_, entry) => (now - entry.Last > Window ? 1 : entry.Failures + 1, now));

    /// <summary>The pause after <paramref name="beyond"/> failures beyond the free ones (0: the first pause).</summary>
    private static TimeSpan Pause(int beyond)
    {
        var doublings = Math.Min(beyond, 10);
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

    private static (string User, string Address) Key(string username, string address) => (username.ToLowerInvariant(), address);
}
