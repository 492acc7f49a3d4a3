using Ferry.Server.Auth;
using Ferry.Tests.Scheduling;

namespace Ferry.Tests.Access;

public sealed class LoginThrottleTests
{
    [Fact]
    public void After_five_failures_sign_in_pauses_with_a_doubling_wait_and_a_success_clears_it()
    {
        var clock = new TestClock(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero));
        var throttle = new LoginThrottle(clock);
        for (var i = 0; i < LoginThrottle.FreeFailures - 1; i++) throttle.Failed("Amina", "10.0.0.7");
        Assert.Null(throttle.RetryAfter("amina", "10.0.0.7"));

        throttle.Failed("amina", "10.0.0.7");
        Assert.Equal(TimeSpan.FromSeconds(30), throttle.RetryAfter("amina", "10.0.0.7"));
        Assert.Null(throttle.RetryAfter("amina", "10.0.0.8")); // another address is not paused
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Null(throttle.RetryAfter("amina", "10.0.0.7"));

        throttle.Failed("amina", "10.0.0.7");
        Assert.Equal(TimeSpan.FromSeconds(60), throttle.RetryAfter("amina", "10.0.0.7"));

        throttle.Succeeded("amina", "10.0.0.7");
        Assert.Null(throttle.RetryAfter("amina", "10.0.0.7"));
    }

    [Fact]
    public void Guesses_spread_over_many_addresses_pause_the_username_everywhere_until_a_success()
    {
        var clock = new TestClock(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero));
        var throttle = new LoginThrottle(clock);
        // Two guesses from each address: no address reaches its own limit.
        for (var i = 0; i < LoginThrottle.FreeFailuresPerUser - 1; i++) throttle.Failed("admin", $"203.0.113.{i / 2}");
        Assert.Null(throttle.RetryAfter("admin", "198.51.100.1"));
        Assert.Null(throttle.RetryAfter("bob", "203.0.113.1"));

        throttle.Failed("ADMIN", "203.0.113.200");
        Assert.Equal(TimeSpan.FromSeconds(30), throttle.RetryAfter("admin", "198.51.100.1")); // a fresh address too
        Assert.Null(throttle.RetryAfter("bob", "203.0.113.1"));                                // another user is not paused
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Null(throttle.RetryAfter("admin", "198.51.100.1"));
        throttle.Failed("admin", "203.0.113.201");
        Assert.Equal(TimeSpan.FromSeconds(60), throttle.RetryAfter("admin", "198.51.100.1"));

        // The longer of the two pauses applies: seven more failures from one address give it 120 s of its own, and the
        // username (28 failures) the longest pause, 15 minutes, everywhere.
        for (var i = 0; i < LoginThrottle.FreeFailures + 2; i++) throttle.Failed("admin", "192.0.2.9");
        Assert.Equal(TimeSpan.FromMinutes(15), throttle.RetryAfter("admin", "192.0.2.9"));
        Assert.Equal(TimeSpan.FromMinutes(15), throttle.RetryAfter("admin", "198.51.100.1"));

        // A success clears the username's count and its own address's, not another address's.
        throttle.Succeeded("admin", "198.51.100.1");
        Assert.Null(throttle.RetryAfter("admin", "198.51.100.1"));
        Assert.Equal(TimeSpan.FromSeconds(120), throttle.RetryAfter("admin", "192.0.2.9"));
    }

    [Fact]
    public void Failures_further_apart_than_the_window_start_counting_again()
    {
        var clock = new TestClock(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero));
        var throttle = new LoginThrottle(clock);
        for (var i = 0; i < LoginThrottle.FreeFailures - 1; i++) throttle.Failed("john", "10.0.0.7");
        clock.Advance(LoginThrottle.Window + TimeSpan.FromSeconds(1));

        throttle.Failed("john", "10.0.0.7");

        Assert.Null(throttle.RetryAfter("john", "10.0.0.7"));
    }

    [Fact]
    public void An_admin_lift_clears_every_pause_of_the_username_and_no_other()
    {
        var clock = new TestClock(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero));
        var throttle = new LoginThrottle(clock);
        Assert.Null(throttle.PausedFor("amina"));
        for (var i = 0; i < LoginThrottle.FreeFailures + 1; i++) throttle.Failed("amina", "10.0.0.7"); // 60 s from here
        for (var i = 0; i < LoginThrottle.FreeFailures; i++) throttle.Failed("amina", "10.0.0.8");     // 30 s from there
        for (var i = 0; i < LoginThrottle.FreeFailures; i++) throttle.Failed("bob", "10.0.0.7");
        clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(TimeSpan.FromSeconds(50), throttle.PausedFor("Amina")); // the longest, from any address

        Assert.Equal(TimeSpan.FromSeconds(50), throttle.Lift("AMINA"));
        Assert.Null(throttle.PausedFor("amina"));
        Assert.Null(throttle.RetryAfter("amina", "10.0.0.7"));
        Assert.Null(throttle.RetryAfter("amina", "10.0.0.8"));
        Assert.Equal(TimeSpan.FromSeconds(20), throttle.RetryAfter("bob", "10.0.0.7"));
        // Counting starts again from nothing: one more failure is not a pause.
        throttle.Failed("amina", "10.0.0.7");
        Assert.Null(throttle.RetryAfter("amina", "10.0.0.7"));
        Assert.Null(throttle.Lift("amina"));
    }
}
