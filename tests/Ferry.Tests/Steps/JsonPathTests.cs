using Ferry.Json;
using Ferry.Steps;

namespace Ferry.Tests.Steps;

public class JsonPathTests
{
    private static readonly object Doc = Js.Parse("""
        {"data":{"cases":[
          {"id":"a","status":"active","age":30,"contacts":[{"id":"c1"}]},
          {"id":"b","status":"closed","age":70},
          {"id":"c","status":"active","age":5,"phone":"0700"}
        ]},"meta":{"id":"m"}}
        """)!;

    [Theory]
    [InlineData("$.data.cases[*].id", """["a","b","c"]""")]
    [InlineData("$.data.cases[0].id", """["a"]""")]
    [InlineData("$.data.cases[-1].id", """["c"]""")]
    [InlineData("$['data']['cases'][1]['status']", """["closed"]""")]
    [InlineData("$.data.cases[0:2].id", """["a","b"]""")]
    [InlineData("$.data.cases[0,2].id", """["a","c"]""")]
    [InlineData("$..id", """["a","c1","b","c","m"]""")]
    [InlineData("$.data.cases[?(@.status == 'active')].id", """["a","c"]""")]
    [InlineData("$.data.cases[?(@.age >= 30 && @.status != 'closed')].id", """["a"]""")]
    [InlineData("$.data.cases[?(@.phone)].id", """["c"]""")]
    [InlineData("$.data.cases[?(!@.phone || @.age < 10)].id", """["a","b","c"]""")]
    [InlineData("$.meta.*", """["m"]""")]
    [InlineData("data.cases[1].age", "[70]")]
    [InlineData("$.nothing[*]", "[]")]
    public void Select_supports_the_common_jsonpath_forms(string path, string expected)
    {
        Assert.Equal(expected, JsonPath.Select(Doc, path).ToString());
    }

    [Fact]
    public void First_returns_the_live_value_and_null_when_nothing_matches()
    {
        var doc = (JsObject)Js.Parse("""{"a":[{"x":1}]}""")!;
        dynamic first = JsonPath.First(doc, "$.a[0]")!;
        first.x = 2;
        Assert.Equal("""{"a":[{"x":2}]}""", doc.ToString());
        Assert.Null(JsonPath.First(doc, "$.b"));
    }

    [Fact]
    public void Raw_state_members_are_searched()
    {
        var state = Js.ParseStateObject("""{"data":{"rows":[{"id":7}]}}"""u8.ToArray());
        Assert.Equal(7, (int)JsonPath.First(state, "$.data.rows[0].id")!);
    }

    [Fact]
    public void Invalid_path_names_the_position()
    {
        var e = Assert.Throws<ArgumentException>(() => JsonPath.Select(Doc, "$.data.cases[?(@.x == )]"));
        Assert.Contains("is invalid at position", e.Message);
    }
}
