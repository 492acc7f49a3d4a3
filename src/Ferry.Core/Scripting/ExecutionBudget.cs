using System.Runtime.CompilerServices;

namespace Ferry.Scripting;

public enum KillReason { Timeout, Memory, Recursion, Cancelled }

/// <summary>A step exceeded its budget (or was cancelled); the step ends as <c>killed</c>.</summary>
public sealed class StepKilledException : Exception
{
    public StepKilledException(KillReason reason, string message) : base(message) => Reason = reason;

    public StepKilledException() : this(KillReason.Cancelled, "The step was stopped.") { }

    public StepKilledException(string message) : this(KillReason.Cancelled, message) { }

    public StepKilledException(string message, Exception inner) : base(message, inner) { }

    public KillReason Reason { get; }
}

/// <summary>
/// Time, memory and recursion budget of one step run. The step compiler instruments user code to call
/// <see cref="Tick"/> at every loop iteration, catch block and call entry (<see cref="Enter"/>), so a runaway
/// step stops itself; once killed, every later tick throws again, so user code cannot catch its way out.
/// </summary>
public sealed class ExecutionBudget
{
    private const int MemoryCheckInterval = 256;
    private readonly long _deadline;
    private readonly long _memoryLimit;
    private readonly CancellationToken _cancellation;
    private StepKilledException? _killed;
    private int _ticks;
    private long _allocatedBefore;
    private int _threadId;
    private long _allocatedOnOtherThreads;

    public ExecutionBudget(TimeSpan time, long memoryBytes, CancellationToken cancellation = default)
    {
        Time = time;
        _deadline = Environment.TickCount64 + (long)Math.Min(time.TotalMilliseconds, long.MaxValue / 4);
        _memoryLimit = memoryBytes;
        _cancellation = cancellation;
        _threadId = Environment.CurrentManagedThreadId;
        _allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
    }

    public static ExecutionBudget Unlimited => new(TimeSpan.FromDays(3650), long.MaxValue);

    public TimeSpan Time { get; }

    public long MemoryLimit => _memoryLimit;

    /// <summary>Set once the budget is exhausted or the step was stopped.</summary>
    public StepKilledException? Killed => _killed;

    /// <summary>Bytes allocated by the step so far (approximate across thread hops).</summary>
    public long AllocatedBytes
    {
        get
        {
            if (Environment.CurrentManagedThreadId != _threadId) return _allocatedOnOtherThreads;
            return _allocatedOnOtherThreads + (GC.GetAllocatedBytesForCurrentThread() - _allocatedBefore);
        }
    }

    /// <summary>Called by instrumented code at loop back-edges and catch blocks.</summary>
    public void Tick()
    {
        if (_killed is not null) throw _killed;
        if (Environment.TickCount64 > _deadline) Kill(KillReason.Timeout, $"The step ran longer than its time budget of {Time.TotalSeconds:0.###} s and was stopped.");
        if (_cancellation.IsCancellationRequested) Kill(KillReason.Cancelled, "The step was cancelled.");
        if (++_ticks % MemoryCheckInterval == 0) CheckMemory();
    }

    /// <summary>Called by instrumented code on entry to every method, local function and lambda.</summary>
    public void Enter()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            Kill(KillReason.Recursion, "The step recursed too deeply (unbounded recursion?) and was stopped.");
        Tick();
    }

    /// <summary>Checks an element count before code allocates it (arrays, repeats, capacities).</summary>
    public int Count(long count, int elementSize = 8)
    {
        Tick();
        if (count < 0) return (int)count;
        if (count * Math.Max(1, elementSize) > _memoryLimit - AllocatedBytes || count > int.MaxValue)
            Kill(KillReason.Memory, $"The step tried to allocate {count:N0} elements, more than its memory budget of {_memoryLimit / (1024 * 1024)} MB allows.");
        return (int)count;
    }

    /// <summary>Ends the step: the next tick in its code throws.</summary>
    public void Kill(KillReason reason, string message)
    {
        _killed ??= new StepKilledException(reason, message);
        throw _killed;
    }

    /// <summary>Marks the budget spent without throwing (the engine uses it when a step is abandoned).</summary>
    public void Expire(KillReason reason, string message) => _killed ??= new StepKilledException(reason, message);

    private void CheckMemory()
    {
        var thread = Environment.CurrentManagedThreadId;
        var now = GC.GetAllocatedBytesForCurrentThread();
        if (thread != _threadId)
        {
            _threadId = thread;
            _allocatedBefore = now;
        }
        else
        {
            _allocatedOnOtherThreads += now - _allocatedBefore;
            _allocatedBefore = now;
        }
        if (_allocatedOnOtherThreads > _memoryLimit)
            Kill(KillReason.Memory, $"The step allocated more than its memory budget of {_memoryLimit / (1024 * 1024)} MB and was stopped.");
    }
}
