using Ferry.Server.Journal;

namespace Ferry.Tests.Server;

/// <summary>How long the intake mover lets entries gather before its next transaction.</summary>
public sealed class IntakeMoverTests
{
    [Theory]
    [InlineData(1, 100_000)] // the first request after a quiet spell
    [InlineData(20, 5)] // 4,000 requests/s
    [InlineData(49, 5)] // just under 10,000/s
    [InlineData(400, 50)] // 8,000/s, after a busy spell
    public void Below_the_busy_rate_transactions_follow_each_other_closely(int stored, long sinceLast) =>
        Assert.Equal(IntakeMover.CommitInterval, IntakeMover.IntervalAfter(stored, sinceLast));

    [Theory]
    [InlineData(50, 5)] // 10,000 requests/s
    [InlineData(125, 5)] // 25,000/s
    [InlineData(1000, 40)] // a full batch
    [InlineData(30, 0)] // a burst within one millisecond
    public void From_the_busy_rate_on_transactions_gather_larger_batches(int stored, long sinceLast) =>
        Assert.Equal(IntakeMover.BusyCommitInterval, IntakeMover.IntervalAfter(stored, sinceLast));
}
