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

public class JsFromTests
{
    [Fact]
    public void A_list_that_contains_itself_is_refused_with_a_clear_error_instead_of_overflowing_the_stack()
    {
        var list = new List<object>();
        list.Add(list);
        dynamic state = new JsObject();
        var e = Assert.Throws<JsonAccessException>(() => state.x = list);
        Assert.Contains("contain itself", e.Message);
    }

    [Fact]
    public void Framework_objects_are_not_copied_into_state_by_reflection()
    {
        dynamic state = new JsObject();
        var e = Assert.Throws<JsonAccessException>(() => state.error = new InvalidOperationException("x"));
        Assert.Contains("cannot be stored in state", e.Message);
    }

    [Fact]
    public void Records_and_anonymous_objects_become_json()
    {
        dynamic state = new JsObject();
        state.a = new { id = 1, tags = new[] { "x" }, at = new DateOnly(2026, 11, 22) };
        Assert.Equal("""{"a":{"id":1,"tags":["x"],"at":"2026-11-22"}}""", Js.ToJson(state));
    }
}

public class SuggestionsTests
{
    [Theory]
    [InlineData("qurey", "query")]
    [InlineData("lable", "label")]
    [InlineData("adaptr", "adaptor")]
    [InlineData("hmis", "hmis-db")]
    [InlineData("retain_errors", "retain_with_errors")]
    public void Misspellings_get_a_did_you_mean(string typed, string expected)
    {
        Assert.Equal(expected, Ferry.Diagnostics.Suggestions.Closest(typed, ["query", "label", "adaptor", "hmis-db", "retain_with_errors", "retain_all", "credential"]));
    }

    [Fact]
    public void Unrelated_words_get_no_suggestion()
    {
        Assert.Null(Ferry.Diagnostics.Suggestions.Closest("zebra", ["query", "label", "adaptor"]));
    }
}

public class JsWriteToTests
{
    [Fact]
    public void Large_raw_members_are_copied_to_the_stream_and_the_document_stays_valid()
    {
        var big = "[" + string.Join(",", Enumerable.Range(0, 300_000).Select(i => $"{{\"id\":{i}}}")) + "]";
        var state = Js.ParseStateObject(System.Text.Encoding.UTF8.GetBytes($"{{\"first\":1,\"data\":{big},\"after\":{{\"ok\":true}}}}"));
        using var stream = new MemoryStream();

        Js.WriteTo(stream, state, indented: true);

        dynamic back = Js.Parse(stream.ToArray())!;
        Assert.Equal(300_000, (int)back.data.Length);
        Assert.Equal(299_999, (int)back.data[299_999].id);
        Assert.True((bool)back.after.ok);
    }
}
