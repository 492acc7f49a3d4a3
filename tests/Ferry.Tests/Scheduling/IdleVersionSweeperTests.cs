using Ferry.Server.Projects;

namespace Ferry.Tests.Scheduling;

/// <summary>The sweeper's part that needs no server (the sweep itself is tested in <see cref="SchedulingTests"/>, on both databases).</summary>
public sealed class IdleVersionSweeperTests
{
    [Fact]
    public void The_native_heap_is_trimmed_on_linux_with_glibc()
    {
        // The test machines run Debian (glibc): there the trim must be reachable, or the reclaim silently does less.
        Assert.Equal(OperatingSystem.IsLinux(), IdleVersionSweeper.TrimNativeHeap());
    }
}
