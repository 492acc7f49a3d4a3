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
/// <see cref="Tick"/> at every loop iteration, label and catch block, <see cref="Enter"/> at every call entry and
/// <see cref="Count"/> before sized allocations, so a runaway step stops itself. Once killed, every later tick
/// throws again, so user code cannot catch its way out.
/// </summary>
/// <remarks>
/// Memory is the number of bytes the step allocated (not what it keeps alive): the sum of
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> deltas between ticks. When the step's code continues on another
/// thread after an await, the baseline moves to that thread, so allocations between the last tick on the old thread
/// and the hop are not counted: the figure is a lower bound, precise for CPU-bound code.
/// </remarks>
public sealed class ExecutionBudget
{
    private static readonly AsyncLocal<ExecutionBudget?> CurrentBudget = new();
    private static readonly ExecutionBudget NoLimit = new(TimeSpan.FromDays(3650), long.MaxValue);

    private const int MaxInterval = 256;
    private const long FastAllocationBytes = 64 * 1024;
    private readonly long _deadline;
    private readonly long _memoryLimit;
    private readonly CancellationToken _cancellation;
    private StepKilledException? _killed;
    private long _allocatedBefore;
    private int _threadId;
    private long _allocated;
    private int _countdown = 1;
    private int _interval = 1;

    public ExecutionBudget(TimeSpan time, long memoryBytes, CancellationToken cancellation = default)
    {
        Time = time;
        _deadline = Environment.TickCount64 + (long)Math.Min(time.TotalMilliseconds, long.MaxValue / 4);
        _memoryLimit = memoryBytes;
        _cancellation = cancellation;
        _threadId = Environment.CurrentManagedThreadId;
        _allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
    }

    /// <summary>A budget that never runs out (tools and tests).</summary>
    public static ExecutionBudget Unlimited => new(TimeSpan.FromDays(3650), long.MaxValue);

    /// <summary>
    /// The budget of the step running on this logical flow (set by <see cref="CompiledStep.RunAsync"/>). Code inside
    /// classes a script declares cannot see the script's globals, so its instrumentation reads the budget here.
    /// </summary>
    public static ExecutionBudget Current => CurrentBudget.Value ?? NoLimit;

    /// <summary>The budget set for this logical flow, or null (the runner sets and restores it).</summary>
    internal static ExecutionBudget? Ambient
    {
        get => CurrentBudget.Value;
        set => CurrentBudget.Value = value;
    }

    public TimeSpan Time { get; }

    public long MemoryLimit => _memoryLimit;

    /// <summary>Set once the budget is exhausted or the step was stopped.</summary>
    public StepKilledException? Killed => _killed;

    /// <summary>Bytes allocated by the step so far (a lower bound across thread hops, see remarks).</summary>
    public long AllocatedBytes
    {
        get
        {
            if (Environment.CurrentManagedThreadId != _threadId) return _allocated;
            return _allocated + (GC.GetAllocatedBytesForCurrentThread() - _allocatedBefore);
        }
    }

    /// <summary>Called by instrumented code at loop iterations, labels and catch blocks.</summary>
    public void Tick()
    {
        if (_killed is not null) throw _killed;
        if (--_countdown > 0) return;
        Check();
    }

    /// <summary>Called by instrumented code on entry to every method, local function, lambda, accessor and constructor.</summary>
    public void Enter()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            Kill(KillReason.Recursion, "The step recursed too deeply (unbounded recursion?) and was stopped.");
        Tick();
    }

    /// <summary>Checks an element count before code allocates it (arrays, repeats, capacities, padding).</summary>
    public int Count(long count, int elementSize)
    {
        Tick();
        if (count < 0) return (int)Math.Max(count, int.MinValue);
        if (count > int.MaxValue || count * Math.Max(1, elementSize) > _memoryLimit - AllocatedBytes)
            Kill(KillReason.Memory, $"The step tried to allocate {count:N0} elements, more than its memory budget of {Megabytes(_memoryLimit)} allows, and was stopped.");
        return (int)count;
    }

    /// <summary>Ends the step: throws now, and the next tick in its code throws again.</summary>
    public void Kill(KillReason reason, string message)
    {
        _killed ??= new StepKilledException(reason, message);
        throw _killed;
    }

    /// <summary>Marks the budget spent without throwing (the engine uses it when a step is abandoned).</summary>
    public void Expire(KillReason reason, string message) => _killed ??= new StepKilledException(reason, message);

    // The clock and the allocation counter cost tens of nanoseconds, so they are read on every tick only while the
    // step allocates quickly (a doubling string reaches gigabytes in thirty iterations) and then at most every
    // MaxInterval ticks: a tight loop pays a decrement and a branch per iteration.
    private void Check()
    {
        if (Environment.TickCount64 > _deadline)
            Kill(KillReason.Timeout, $"The step ran longer than its time budget of {Time.TotalSeconds:0.###} s and was stopped.");
        if (_cancellation.IsCancellationRequested) Kill(KillReason.Cancelled, "The step was cancelled.");
        var delta = CheckMemory();
        _interval = delta > FastAllocationBytes ? 1 : Math.Min(_interval * 2, MaxInterval);
        _countdown = _interval;
    }

    private long CheckMemory()
    {
        var now = GC.GetAllocatedBytesForCurrentThread();
        var thread = Environment.CurrentManagedThreadId;
        long delta = 0;
        if (thread == _threadId)
        {
            delta = now - _allocatedBefore;
            _allocated += delta;
        }
        else
        {
            _threadId = thread;
        }
        _allocatedBefore = now;
        if (_allocated > _memoryLimit)
            Kill(KillReason.Memory, $"The step allocated more than its memory budget of {Megabytes(_memoryLimit)} and was stopped.");
        return delta;
    }

    private static string Megabytes(long bytes) => bytes >= long.MaxValue / 2 ? "unlimited" : $"{bytes / (1024.0 * 1024):0.#} MB";
}
