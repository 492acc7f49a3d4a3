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
    public void Failures_further_apart_than_the_window_start_counting_again()
    {
        var clock = new TestClock(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero));
        var throttle = new LoginThrottle(clock);
        for (var i = 0; i < LoginThrottle.FreeFailures - 1; i++) throttle.Failed("john", "10.0.0.7");
        clock.Advance(LoginThrottle.Window + TimeSpan.FromSeconds(1));

        throttle.Failed("john", "10.0.0.7");

        Assert.Null(throttle.RetryAfter("john", "10.0.0.7"));
    }
}
