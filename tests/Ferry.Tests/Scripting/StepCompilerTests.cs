using Ferry.Json;
using Ferry.Scripting;

namespace Ferry.Tests.Scripting;

public class StepCompilerTests
{
    private static readonly StepCompiler Compiler = ScriptKit.NewCompiler();

    [Fact]
    public async Task State_reads_missing_members_as_null_and_assignment_creates_them()
    {
        var step = ScriptKit.Compile(Compiler, """
            state.data.seen = state.data.missing == null;
            state.data.total = state.data.a + state.data.b;
            state.extra = new { ok = true };
            """);
        var (globals, _) = ScriptKit.Globals("""{"data":{"a":2,"b":3}}""");
        var result = await step.RunAsync(globals);
        Assert.Null(result);
        Assert.Equal("""{"data":{"a":2,"b":3,"seen":true,"total":5},"extra":{"ok":true}}""", Js.ToJson(globals.state));
    }

    [Fact]
    public async Task Returned_object_is_the_result()
    {
        var step = ScriptKit.Compile(Compiler, """return new JsObject { ["data"] = 42 };""");
        var result = await step.RunAsync(ScriptKit.Globals().Globals);
        Assert.Equal("""{"data":42}""", Js.ToJson(result));
    }
}
