using Ferry.Json;

namespace Ferry.Tests.Json;

public class JsObjectTests
{
    [Fact]
    public void Missing_member_reads_null_and_assignment_creates_members()
    {
        dynamic state = Js.Parse("""{"data":{"patient":{"name":"Ana"}}}""")!;
        Assert.Equal("Ana", (string)state.data.patient.name);
        Assert.Null(state.data.missing);
        state.data.patient.age = 32;
        Assert.Equal("""{"data":{"patient":{"name":"Ana","age":32}}}""", Js.ToJson(state));
    }

    [Fact]
    public void Assigning_an_ancestor_stores_a_copy_so_state_never_has_a_cycle()
    {
        dynamic state = new JsObject();
        state.a = 1;
        state.self = state;
        Assert.Equal("""{"a":1,"self":{"a":1}}""", Js.ToJson(state));
    }

    [Fact]
    public void State_file_members_stay_raw_until_read()
    {
        var state = Js.ParseStateObject("""{"data":[{"id":1},{"id":2}],"n":3}"""u8.ToArray());
        Assert.IsType<RawJson>(state.GetUnmaterialized("data"));
        dynamic d = state;
        Assert.Equal(2, (int)d.data[1].id);
        Assert.Equal(2, (int)d.data.Length);
    }

    [Fact]
    public void Malformed_json_reports_line_and_column()
    {
        var e = Assert.Throws<Ferry.Diagnostics.FerryInputException>(() => Js.Parse("{\n  \"a\": tru }", "state.json"));
        Assert.Contains("state.json:2:", e.Message);
    }
}
